#include "store/batch_writer.h"

#include "core/text_util.h"

namespace fhirsync::store {

void BatchWriter::Prefetch(const std::vector<PreparedOp>& ops) {
  std::vector<ResourceKey> keys;
  keys.reserve(ops.size());
  for (const PreparedOp& op : ops) keys.emplace_back(op.op->type, op.id);
  storage_.LoadCurrent(keys, current_);
  prefetched_ = true;
}

StatusOr<std::optional<CurrentVersion>> BatchWriter::Current(const std::string& type,
                                                             const std::string& id) {
  if (!prefetched_) return InternalError("BatchWriter::Current before Prefetch");
  auto it = current_.find(ResourceKey(type, id));
  if (it == current_.end()) return std::optional<CurrentVersion>();
  return std::optional<CurrentVersion>(it->second);
}

Status BatchWriter::Append(NewVersion& version) {
  CurrentVersion& current = current_[ResourceKey(version.type, version.id)];
  current.version = version.version;
  current.deleted = version.deleted;
  current.last_updated_ms = version.at_ms;
  current.content_hash = version.content_hash;
  if (version.queue_outbox && version.correlation_id.empty()) {
    // Made by the batch preparer (PrepareBatch); an op prepared alone has none.
    version.correlation_id = NewUuid();
  }
  storage_.Add(version);
  return Status::Ok();
}

void BatchWriter::Flush() { storage_.Finish(); }

}  // namespace fhirsync::store
