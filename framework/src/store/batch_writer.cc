#include "store/batch_writer.h"

#include "core/text_util.h"

namespace fhirsync::store {

void BatchWriter::Prefetch(std::span<const ResourceKey> keys) {
  current_.reserve(current_.size() + keys.size());
  storage_.LoadCurrent(keys, current_);
  prefetched_ = true;
}

void BatchWriter::Prefetch(std::span<const PreparedOp> ops) {
  std::vector<ResourceKey> keys;
  keys.reserve(ops.size());
  for (const PreparedOp& op : ops) keys.emplace_back(op.op->type, op.id);
  Prefetch(keys);
}

StatusOr<const CurrentVersion*> BatchWriter::Current(std::string_view type, std::string_view id) {
  if (!prefetched_) return InternalError("BatchWriter::Current before Prefetch");
  auto it = current_.find(ResourceKey(type, id));
  if (it == current_.end()) return static_cast<const CurrentVersion*>(nullptr);
  return &it->second;
}

Status BatchWriter::Append(NewVersion& version) {
  CurrentVersion& current = current_[ResourceKey(version.type, version.id)];
  current.version = version.version;
  current.deleted = version.deleted;
  current.last_updated_ms = version.at_ms;
  current.content_hash.assign(version.content_hash);
  if (version.queue_outbox && version.correlation_id.empty()) {
    // Made by the batch preparer (PrepareBatch); an op prepared alone has none.
    made_correlation_id_ = NewUuid();
    version.correlation_id = made_correlation_id_;
  }
  storage_.Add(version);
  return Status::Ok();
}

void BatchWriter::Flush() { storage_.Finish(); }

}  // namespace fhirsync::store
