// BatchWriter: the storage side of one write transaction, for both backends
// (internal header).
//
// Why batches: Poco::Data 1.11 compiles a statement again every time it is
// executed, so executing one statement per row spends most of an import in
// the SQL compiler. A BatchWriter instead
//   1. looks up the current version of every resource of the batch with one
//      query (a JSON array of keys as its single parameter),
//   2. answers the write planner from that in memory (including versions the
//      batch itself wrote, so a resource may appear twice in one batch),
//   3. collects the new rows in column vectors, and
//   4. Flush() inserts the `changes` rows with a statement bound once to
//      those vectors (compiled once, executed for every row; or, where
//      StoreSql::changes_as_json is set, one execution for the batch), then
//      derives the `resources` pointers and the outbox rows from them with
//      one statement each.
// Values only ever travel as bound parameters.
//
// Thread safety: none; one BatchWriter lives inside one write transaction,
// under the store's write mutex.

#ifndef FHIRSYNC_STORE_BATCH_WRITER_H_
#define FHIRSYNC_STORE_BATCH_WRITER_H_

#include <Poco/Data/Session.h>
#include <Poco/Types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/store_sql.h"
#include "store/write_planner.h"

namespace fhirsync::store {

class BatchWriter final : public WriteTarget {
 public:
  // `session` must be inside a write transaction for the writer's lifetime.
  BatchWriter(Poco::Data::Session& session, const StoreSql& sql)
      : session_(session), sql_(sql) {}

  // Loads the current versions of the resources `ops` name. Throws Poco
  // exceptions on database errors.
  void Prefetch(const std::vector<PreparedOp>& ops);

  StatusOr<std::optional<CurrentVersion>> Current(const std::string& type,
                                                  const std::string& id) override;
  Status Append(NewVersion& version) override;

  // Writes every appended version: `changes` rows, the `resources` pointers
  // and the outbox rows of local changes. Throws Poco exceptions.
  void Flush();

 private:
  using Key = std::pair<std::string, std::string>;

  // The appended `changes` rows / outbox [seq, correlation id] pairs as
  // JSON arrays of arrays (StoreSql's one-parameter forms).
  std::string ChangesJson() const;
  std::string OutboxJson() const;

  Poco::Data::Session& session_;
  const StoreSql& sql_;
  // Known state: nullopt-free; a key absent from both maps never existed.
  std::map<Key, CurrentVersion> current_;
  bool prefetched_ = false;

  // Column vectors of the appended `changes` rows.
  std::vector<Poco::Int64> seq_;
  std::vector<std::string> type_;
  std::vector<std::string> id_;
  std::vector<Poco::Int64> version_;
  std::vector<std::string> action_;
  std::vector<Poco::Int64> at_ms_;
  std::vector<std::string> origin_;
  std::vector<std::string> format_;
  std::vector<int> deleted_;
  std::vector<std::string> content_hash_;
  std::vector<std::string> body_;
  // The outbox rows to add: change seq and correlation id.
  std::vector<Poco::Int64> outbox_seq_;
  std::vector<std::string> outbox_correlation_id_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_BATCH_WRITER_H_
