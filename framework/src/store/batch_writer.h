// BatchWriter: the storage side of one write transaction, for both backends
// (internal header).
//
// Why batches: the write planner (write_planner.h) asks for the current
// version of each resource and appends new versions one at a time, but the
// database is cheapest when it gets a whole batch at once. A BatchWriter
//   1. looks up the current version of every resource of the batch at once
//      (BatchStorage::LoadCurrent),
//   2. answers the write planner from that in memory (including versions the
//      batch itself wrote, so a resource may appear twice in one batch),
//   3. collects the new rows in column vectors (ChangeRows), and
//   4. Flush() hands them to BatchStorage::WriteRows: the `changes` rows,
//      the `resources` pointers and the outbox rows of local changes.
// How a backend does 1 and 4 is its BatchStorage: PocoBatchStorage
// (poco_batch_storage.h) runs a few set-wise statements through Poco::Data;
// SqliteBatchStorage (sqlite_batch_storage.h) steps statements it keeps
// prepared. Values only ever travel as bound parameters.
//
// Thread safety: none; one BatchWriter lives inside one write transaction,
// under the store's write mutex.

#ifndef FHIRSYNC_STORE_BATCH_WRITER_H_
#define FHIRSYNC_STORE_BATCH_WRITER_H_

#include <Poco/Types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/write_planner.h"

namespace fhirsync::store {

using ResourceKey = std::pair<std::string, std::string>;  // (type, id)
using CurrentVersions = std::map<ResourceKey, CurrentVersion>;

// The new versions of one batch, as column vectors of `changes` rows in seq
// order, plus which of them queue an outbox row.
struct ChangeRows {
  std::vector<Poco::Int64> seq;
  std::vector<std::string> type;
  std::vector<std::string> id;
  std::vector<Poco::Int64> version;
  std::vector<std::string> action;
  std::vector<Poco::Int64> at_ms;
  std::vector<std::string> origin;
  std::vector<std::string> format;
  std::vector<int> deleted;
  std::vector<std::string> content_hash;
  std::vector<std::string> body;
  // Row index (into the vectors above) and correlation id of each outbox row
  // to add, in seq order.
  std::vector<std::size_t> outbox_row;
  std::vector<std::string> outbox_correlation_id;

  bool empty() const { return seq.empty(); }
};

// How one backend reads and writes a batch inside the open write
// transaction. Both throw Poco exceptions on database errors.
class BatchStorage {
 public:
  virtual ~BatchStorage() = default;
  // Adds to `current` the current version of each key of `keys` that
  // exists (a key may be named twice).
  virtual void LoadCurrent(const std::vector<ResourceKey>& keys, CurrentVersions& current) = 0;
  // Writes `rows`: a `changes` row each, the `resources` pointer of each
  // resource to its newest row, and the outbox rows, each with the remote
  // version last agreed with the parent (sync_state) as its base.
  // `rows` is not changed (non-const only because Poco::Data binds by
  // reference).
  virtual void WriteRows(ChangeRows& rows) = 0;
};

class BatchWriter final : public WriteTarget {
 public:
  // `storage` must be inside a write transaction for the writer's lifetime.
  explicit BatchWriter(BatchStorage& storage) : storage_(storage) {}

  // Loads the current versions of the resources `ops` name. Throws Poco
  // exceptions on database errors.
  void Prefetch(const std::vector<PreparedOp>& ops);

  StatusOr<std::optional<CurrentVersion>> Current(const std::string& type,
                                                  const std::string& id) override;
  Status Append(NewVersion& version) override;

  // Writes every appended version. Throws Poco exceptions.
  void Flush();

 private:
  BatchStorage& storage_;
  // Known state: a key absent from the map never existed.
  CurrentVersions current_;
  bool prefetched_ = false;
  ChangeRows rows_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_BATCH_WRITER_H_
