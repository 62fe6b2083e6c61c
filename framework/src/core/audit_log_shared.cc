// AuditLog over the store, and the defaults of the LocalStore methods the
// pull and push sections share (conflicts, audit rows) for stores that do
// not keep them (test fakes): every call says so instead of pretending.

#include "fhirsync/audit_log.h"
#include "fhirsync/local_store.h"

namespace fhirsync {

StatusOr<std::vector<ConflictRecord>> LocalStore::ListConflicts(const std::string&,
                                                                std::int64_t) {
  return UnimplementedError("this store does not implement conflicts");
}
StatusOr<std::int64_t> LocalStore::AppendAudit(const AuditRecord&) {
  return UnimplementedError("this store does not implement the audit log");
}
StatusOr<std::vector<AuditRecord>> LocalStore::QueryAudit(const AuditQuery&) {
  return UnimplementedError("this store does not implement the audit log");
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
