// BatchWriter: the storage side of one write transaction, for both backends
// (internal header).
//
// Why batches: the write planner (write_planner.h) asks for the current
// version of each resource and appends new versions one at a time, but the
// database is cheapest when it gets a whole batch at once. A BatchWriter
//   1. looks up the current version of every resource of the batch at once
//      (Prefetch, through BatchStorage::LoadCurrent), or of each resource
//      when the planner asks (LookUpOnDemand),
//   2. answers the write planner from that in memory (including versions the
//      batch itself wrote, so a resource may appear twice in one batch),
//   3. hands each new version to BatchStorage::Add, and
//   4. Flush() ends the chunk (BatchStorage::Finish).
//
// Assumed new: with LookUpOnDemand on a storage that can AddIfNew, a put
// the planner allows it for is planned as version 1 without a lookup, and
// the insert itself finds out whether the resource existed. An import of
// new resources then costs one index search per row instead of two. A
// refused version 1 is looked up and planned again; should most of a
// chunk's assumptions fail (a re-import), the writer stops assuming for the
// rest of the chunk.
// How a backend stores the rows is its BatchStorage: PocoBatchStorage
// (poco_batch_storage.h) collects them and runs a few set-wise statements
// through Poco::Data; SqliteBatchStorage (sqlite_batch_storage.h) writes
// each at once through statements it keeps prepared. Values only ever travel
// as bound parameters.
//
// Thread safety: none; one BatchWriter lives inside one write transaction,
// under the store's write mutex.

#ifndef FHIRSYNC_STORE_BATCH_WRITER_H_
#define FHIRSYNC_STORE_BATCH_WRITER_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/write_planner.h"

namespace fhirsync::store {

// (type, id), viewing strings that outlive the BatchWriter (the ops and
// their prepared forms): the writer keeps one entry per resource of a chunk,
// and owning copies cost two allocations each on the writer's thread.
using ResourceKey = std::pair<std::string_view, std::string_view>;
struct ResourceKeyHash {
  std::size_t operator()(const ResourceKey& key) const {
    const std::size_t type = std::hash<std::string_view>()(key.first);
    return std::hash<std::string_view>()(key.second) ^ (type + 0x9e3779b97f4a7c15ULL +
                                                         (type << 6) + (type >> 2));
  }
};
using CurrentVersions = std::unordered_map<ResourceKey, CurrentVersion, ResourceKeyHash>;

// How one backend reads and writes a chunk of a write transaction: one
// LoadCurrent, an Add per new version in seq order, one Finish. A chunk
// abandoned half-way (an error; the caller rolls the transaction back) is
// forgotten by the next LoadCurrent. All three throw Poco exceptions on
// database errors.
class BatchStorage {
 public:
  virtual ~BatchStorage() = default;
  // Adds to `current` the current version of each key of `keys` that
  // exists (a key may be named twice), keyed by the views in `keys`.
  virtual void LoadCurrent(std::span<const ResourceKey> keys, CurrentVersions& current) = 0;
  // Stores `version` (its views are valid only during the call): its
  // `changes` row and, when
  // queue_outbox, its outbox row with the remote version last agreed with
  // the parent (sync_state) as its base. The storage may write it at once
  // or keep it until Finish.
  virtual void Add(const NewVersion& version) = 0;
  // Writes whatever Add kept back.
  virtual void Finish() = 0;
  // Whether AddIfNew may be called.
  virtual bool CanAddIfNew() const { return false; }
  // Stores `version` (version 1) as Add does, at once, unless the resource
  // has a row already: then stores nothing and returns false.
  virtual bool AddIfNew(const NewVersion& version);
};

class BatchWriter final : public WriteTarget {
 public:
  // `storage` must be inside a write transaction for the writer's lifetime.
  explicit BatchWriter(BatchStorage& storage) : storage_(storage) {}

  // Loads the current versions of the resources `keys` name; the strings
  // they view must outlive this writer. Throws Poco exceptions on database
  // errors.
  void Prefetch(std::span<const ResourceKey> keys);
  // The same for the resources of `ops`.
  void Prefetch(std::span<const PreparedOp> ops);
  // Instead of Prefetch: each resource is looked up when the planner first
  // asks for it, or assumed new (see above). The strings of the keys the
  // planner names must outlive this writer. Throws Poco exceptions.
  void LookUpOnDemand() { mode_ = Mode::kOnDemand; }

  StatusOr<const CurrentVersion*> Current(std::string_view type, std::string_view id,
                                          bool may_assume_new) override;
  StatusOr<bool> Append(NewVersion& version) override;

  // Writes every appended version that the storage kept back. Throws Poco
  // exceptions.
  void Flush();

 private:
  enum class Mode { kUnset, kPrefetched, kOnDemand };
  // Whether the writer may still assume resources new.
  bool AssumingNew() const;

  BatchStorage& storage_;
  Mode mode_ = Mode::kUnset;
  // What is known: after Prefetch a key absent from the map never existed;
  // on demand, a key absent is unknown (a version written as assumed new is
  // not entered) and version 0 means never existed.
  CurrentVersions current_;
  // The key Current last assumed new, until Append settles it.
  std::optional<ResourceKey> assumed_;
  std::size_t assumptions_ = 0;  // this chunk's, and how many were wrong
  std::size_t wrong_assumptions_ = 0;
  // The text of a correlation id Append made (an op prepared alone has none).
  std::string made_correlation_id_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_BATCH_WRITER_H_
