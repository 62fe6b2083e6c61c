#include "store/batch_writer.h"

#include "core/text_util.h"
#include "fhirsync/resource.h"

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

  if (version.queue_outbox) {
    rows_.outbox_row.push_back(rows_.seq.size());
    // Made by the batch preparer (PrepareBatch); an op prepared alone has none.
    rows_.outbox_correlation_id.push_back(version.correlation_id.empty()
                                              ? NewUuid()
                                              : std::move(version.correlation_id));
  }
  rows_.seq.push_back(version.seq);
  rows_.type.push_back(std::move(version.type));
  rows_.id.push_back(std::move(version.id));
  rows_.version.push_back(version.version);
  rows_.action.emplace_back(ChangeActionName(version.action));
  rows_.at_ms.push_back(version.at_ms);
  rows_.origin.push_back(std::move(version.origin));
  rows_.format.emplace_back(ResourceFormatName(version.format));
  rows_.deleted.push_back(version.deleted ? 1 : 0);
  rows_.content_hash.push_back(std::move(version.content_hash));
  rows_.body.push_back(std::move(version.body));
  return Status::Ok();
}

void BatchWriter::Flush() {
  if (rows_.empty()) return;
  storage_.WriteRows(rows_);
}

}  // namespace fhirsync::store
