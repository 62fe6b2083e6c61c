#include "store/batch_writer.h"

#include <Poco/Exception.h>

#include "fhirsync/base/text_util.h"

namespace fhirsync::store {

bool BatchStorage::AddIfNew(const NewVersion&) {
  throw Poco::NotImplementedException("AddIfNew on a storage that cannot");
}

void BatchWriter::Prefetch(std::span<const ResourceKey> keys) {
  current_.reserve(current_.size() + keys.size());
  storage_.LoadCurrent(keys, current_);
  mode_ = Mode::kPrefetched;
}

void BatchWriter::Prefetch(std::span<const PreparedOp> ops) {
  std::vector<ResourceKey> keys;
  keys.reserve(ops.size());
  for (const PreparedOp& op : ops) keys.emplace_back(op.op->type, op.id);
  Prefetch(keys);
}

bool BatchWriter::AssumingNew() const {
  // Most of the first assumptions wrong: the chunk rewrites what the store
  // holds, and looking up first is the cheaper way.
  constexpr std::size_t kTrial = 32;
  return storage_.CanAddIfNew() &&
         (assumptions_ < kTrial || wrong_assumptions_ * 2 <= assumptions_);
}

StatusOr<const CurrentVersion*> BatchWriter::Current(std::string_view type, std::string_view id,
                                                     bool may_assume_new) {
  if (mode_ == Mode::kUnset) {
    return InternalError("BatchWriter::Current before Prefetch or LookUpOnDemand");
  }
  const ResourceKey key(type, id);
  assumed_.reset();
  if (!current_.empty()) {
    auto it = current_.find(key);
    if (it != current_.end()) return it->second.version == 0 ? nullptr : &it->second;
  }
  if (mode_ == Mode::kPrefetched) return static_cast<const CurrentVersion*>(nullptr);
  if (may_assume_new && AssumingNew()) {
    assumed_ = key;
    ++assumptions_;
    return static_cast<const CurrentVersion*>(nullptr);
  }
  const ResourceKey keys[] = {key};
  storage_.LoadCurrent(keys, current_);
  // Version 0: looked up, never existed.
  CurrentVersion& known = current_[key];
  return known.version == 0 ? nullptr : &known;
}

StatusOr<bool> BatchWriter::Append(NewVersion& version) {
  const ResourceKey key(version.type, version.id);
  if (version.queue_outbox && version.correlation_id.empty()) {
    // Made by the batch preparer (PrepareBatch); an op prepared alone has none.
    made_correlation_id_ = NewUuid();
    version.correlation_id = made_correlation_id_;
  }
  if (assumed_ && *assumed_ == key) {
    assumed_.reset();
    if (version.version != 1) return InternalError("an assumed-new resource at version > 1");
    if (storage_.AddIfNew(version)) {
      // Not remembered: the storage wrote the row at once, so should the
      // resource come again in this chunk, its version 1 is refused and
      // the lookup finds this row. Remembering each would cost the
      // writer's thread more than the rare second lookup.
      return true;
    }
    ++wrong_assumptions_;
    const ResourceKey keys[] = {key};
    storage_.LoadCurrent(keys, current_);
    if (current_.find(key) == current_.end()) {
      return InternalError("the store refused version 1 of a resource it does not hold");
    }
    return false;
  }
  storage_.Add(version);
  CurrentVersion& current = current_[key];
  current.version = version.version;
  current.deleted = version.deleted;
  current.last_updated_ms = version.at_ms;
  current.content_hash.assign(version.content_hash);
  return true;
}

void BatchWriter::Flush() { storage_.Finish(); }

}  // namespace fhirsync::store
