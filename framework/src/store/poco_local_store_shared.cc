// PocoLocalStore's conflict listing and audit log, shared by the pull and
// push sections (see local_store.h).

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Statement.h>

#include <limits>
#include <utility>

#include "store/poco_local_store.h"

namespace fhirsync::store {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

StatusOr<std::vector<ConflictRecord>> PocoLocalStore::ListConflicts(const std::string& status,
                                                                    std::int64_t limit) {
  if (limit < 0) return InvalidArgumentError("limit must not be negative");
  std::lock_guard<std::mutex> lock(read_mutex_);
  try {
    int has_status = status.empty() ? 0 : 1;
    std::string bound_status = status;
    Poco::Int64 bound_limit = limit;
    std::vector<Poco::Int64> conflict_id, outbox_seq, base_version, local_version, created,
        resolved;
    std::vector<std::string> type, id, base_body, local_body, remote_version, remote_body,
        states;
    read_session_ << sql_.pull->list_conflicts, use(has_status), use(bound_status),
        use(bound_limit), into(conflict_id), into(type), into(id), into(outbox_seq),
        into(base_version), into(base_body), into(local_version), into(local_body),
        into(remote_version), into(remote_body), into(states), into(created), into(resolved),
        now;
    std::vector<ConflictRecord> records;
    records.reserve(conflict_id.size());
    for (std::size_t i = 0; i < conflict_id.size(); ++i) {
      ConflictRecord r;
      r.conflict_id = conflict_id[i];
      r.type = std::move(type[i]);
      r.id = std::move(id[i]);
      r.outbox_seq = outbox_seq[i];
      r.base_version = base_version[i];
      r.base_body = std::move(base_body[i]);
      r.local_version = local_version[i];
      r.local_body = std::move(local_body[i]);
      r.remote_version = std::move(remote_version[i]);
      r.remote_body = std::move(remote_body[i]);
      r.status = std::move(states[i]);
      r.created_ms = created[i];
      r.resolved_ms = resolved[i];
      records.push_back(std::move(r));
    }
    return records;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "list conflicts");
  }
}

StatusOr<std::int64_t> PocoLocalStore::AppendAudit(const AuditRecord& record) {
  if (record.operation.empty() || record.outcome.empty()) {
    return InvalidArgumentError("an audit record needs an operation and an outcome");
  }
  if (!record.correlation_id.empty()) {
    return InvalidArgumentError("this store's audit table has no correlation_id column");
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  try {
    BeginWrite(write_session_);
    std::vector<std::int64_t> ids =
        InsertAuditLocked(std::span<const AuditRecord>(&record, 1), NowMillis());
    CommitWrite(write_session_);
    return ids.front();
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    return TranslateException(error, "append to the audit log");
  }
}

StatusOr<std::vector<AuditRecord>> PocoLocalStore::QueryAudit(const AuditQuery& query) {
  if (query.limit < 0) return InvalidArgumentError("limit must not be negative");
  if (!query.correlation_id.empty()) {
    return InvalidArgumentError("this store's audit table has no correlation_id column");
  }
  std::lock_guard<std::mutex> lock(read_mutex_);
  try {
    Poco::Int64 after = query.after_id;
    Poco::Int64 since = query.since_ms.value_or(std::numeric_limits<std::int64_t>::min());
    std::string operation = query.operation, type = query.type, id = query.id,
                outcome = query.outcome;
    Poco::Int64 limit = query.limit;
    std::vector<Poco::Int64> audit_id, at_ms, local_version, retry_of;
    std::vector<std::string> ops, types, ids, remote, transport, outcomes, message;
    std::vector<int> http;
    read_session_ << sql_.pull->select_audit, use(after), use(since), use(operation), use(type),
        use(id), use(outcome), use(limit), into(audit_id), into(at_ms), into(ops), into(types),
        into(ids), into(local_version), into(remote), into(transport), into(outcomes),
        into(http), into(message), into(retry_of), now;
    std::vector<AuditRecord> rows;
    rows.reserve(audit_id.size());
    for (std::size_t i = 0; i < audit_id.size(); ++i) {
      AuditRecord r;
      r.audit_id = audit_id[i];
      r.at_ms = at_ms[i];
      r.operation = std::move(ops[i]);
      r.type = std::move(types[i]);
      r.id = std::move(ids[i]);
      r.local_version = local_version[i];
      r.remote_version = std::move(remote[i]);
      r.transport = std::move(transport[i]);
      r.outcome = std::move(outcomes[i]);
      r.http_status = http[i];
      r.message = std::move(message[i]);
      r.retry_of = retry_of[i];
      rows.push_back(std::move(r));
    }
    return rows;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the audit log");
  }
}

}  // namespace fhirsync::store
