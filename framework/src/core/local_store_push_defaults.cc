// The push section's defaults for stores that do not keep an outbox
// history (test fakes): every call says so instead of pretending.

#include "fhirsync/audit_log.h"
#include "fhirsync/local_store.h"

namespace fhirsync {
namespace {

Status NoPushSection(const char* what) {
  return UnimplementedError(std::string("this store does not implement ") + what);
}

}  // namespace

StatusOr<std::vector<OutboxItem>> LocalStore::ListOutbox(const OutboxQuery&) {
  return NoPushSection("the outbox listing");
}
StatusOr<std::optional<SyncState>> LocalStore::GetSyncState(const std::string&,
                                                            const std::string&) {
  return NoPushSection("sync state");
}
StatusOr<std::vector<ConflictRecord>> LocalStore::ListConflicts(const std::string&,
                                                                std::int64_t) {
  return NoPushSection("conflicts");
}
StatusOr<ConflictRecord> LocalStore::GetConflict(std::int64_t) {
  return NoPushSection("conflicts");
}
StatusOr<PushRecordResult> LocalStore::RecordPush(const PushRecord&) {
  return NoPushSection("push records");
}
StatusOr<std::string> LocalStore::PushPause() { return NoPushSection("the push pause"); }
StatusOr<std::int64_t> LocalStore::AppendAudit(const AuditRecord&) {
  return NoPushSection("the audit log");
}
StatusOr<std::vector<AuditRecord>> LocalStore::QueryAudit(const AuditQuery&) {
  return NoPushSection("the audit log");
}

StatusOr<std::int64_t> AuditLog::Append(const AuditRecord& record) {
  if (record.operation.empty()) return InvalidArgumentError("an audit record needs an operation");
  if (record.outcome.empty()) return InvalidArgumentError("an audit record needs an outcome");
  return store_->AppendAudit(record);
}

StatusOr<std::vector<AuditRecord>> AuditLog::Query(const AuditQuery& query) {
  if (query.limit < 0) return InvalidArgumentError("audit query limit must not be negative");
  return store_->QueryAudit(query);
}

}  // namespace fhirsync
