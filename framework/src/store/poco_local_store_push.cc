// PocoLocalStore's push section: outbox states, sync_state, conflicts, the
// push pause and the audit log, for both backends (SQL in push_sql.cc).

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Statement.h>

#include <exception>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "fhirsync/base/text_util.h"
#include "store/batch_writer.h"
#include "store/poco_local_store.h"
#include "store/sql_values.h"
#include "store/write_planner.h"

namespace fhirsync::store {
namespace {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

constexpr char kPauseKey[] = "push_paused";
// Meta keys of ParentContact (epoch milliseconds as decimal text).
constexpr char kContactKey[] = "parent_contact_ms";
constexpr char kPullCompletedKey[] = "pull_completed_ms";

// The conflict columns of push_sql.h, extracted into vectors.
struct ConflictColumns {
  std::vector<Poco::Int64> conflict_id, outbox_seq, base_version, local_version, created_ms,
      resolved_ms;
  std::vector<std::string> type, id, base_body, local_body, remote_version, remote_body, status;

  void BindTo(Statement& statement) {
    statement, into(conflict_id), into(type), into(id), into(outbox_seq), into(base_version),
        into(base_body), into(local_version), into(local_body), into(remote_version),
        into(remote_body), into(status), into(created_ms), into(resolved_ms);
  }
  std::vector<ConflictRecord> Take() {
    std::vector<ConflictRecord> records;
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
      r.status = std::move(status[i]);
      r.created_ms = created_ms[i];
      r.resolved_ms = resolved_ms[i];
      records.push_back(std::move(r));
    }
    return records;
  }
};

}  // namespace

void PocoLocalStore::MigrateLocked(int from_version) {
  if (from_version < 2) {
    for (const std::string& ddl : sql_.push->migrate_to_2) {
      write_session_ << ddl, now;
    }
  }
  if (from_version < 3) {
    for (const std::string& ddl : sql_.migrate_to_3) write_session_ << ddl, now;
  }
  if (from_version < 4) RehashContentLocked();
  if (from_version < 5) {
    for (const std::string& ddl : sql_.push->migrate_to_5) write_session_ << ddl, now;
  }
}

StatusOr<std::vector<OutboxItem>> PocoLocalStore::ListOutbox(const OutboxQuery& query) {
  if (query.limit < 0) return InvalidArgumentError("limit must not be negative");
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    int with_bodies = query.with_bodies ? 1 : 0;
    Poco::Int64 after_seq = query.after_seq;
    int has_states = query.states.empty() ? 0 : 1;
    std::string states = JsonStringArray(query.states);
    std::string type = query.type;
    std::string id = query.type.empty() ? std::string() : query.id;
    int due_filter = query.due_at_ms ? 1 : 0;
    Poco::Int64 due_at = query.due_at_ms.value_or(0);
    Poco::Int64 limit = query.limit;
    std::vector<Poco::Int64> seq, version, next_attempt, at_ms;
    std::vector<std::string> types, ids, state, base, outcome, message, correlation, action, body,
        hashes;
    std::vector<int> attempts, http_status, force;
    Statement statement(lease.session());
    if (due_filter != 0 && has_states == 0 && type.empty()) {
      statement << sql_.push->list_due_outbox, use(with_bodies), use(after_seq), use(due_at),
          use(limit);
    } else {
      statement << sql_.push->list_outbox, use(with_bodies), use(after_seq), use(has_states),
          use(states), use(type), use(id), use(due_filter), use(due_at), use(limit);
    }
    statement, into(seq), into(types), into(ids), into(version), into(state), into(base),
        into(attempts), into(next_attempt), into(http_status), into(outcome), into(message),
        into(correlation), into(force), into(action), into(at_ms), into(body), into(hashes);
    statement.execute();
    std::vector<OutboxItem> items;
    items.reserve(seq.size());
    for (std::size_t i = 0; i < seq.size(); ++i) {
      OutboxItem item;
      item.seq = seq[i];
      item.type = std::move(types[i]);
      item.id = std::move(ids[i]);
      item.version = version[i];
      item.state = std::move(state[i]);
      item.base_remote_version = std::move(base[i]);
      item.attempts = attempts[i];
      item.next_attempt_ms = next_attempt[i];
      item.last_http_status = http_status[i];
      item.outcome = std::move(outcome[i]);
      item.message = std::move(message[i]);
      item.correlation_id = std::move(correlation[i]);
      item.force = force[i] != 0;
      item.action = ChangeActionFromName(action[i]);
      item.at_ms = at_ms[i];
      item.body = std::move(body[i]);
      item.content_hash = std::move(hashes[i]);
      items.push_back(std::move(item));
    }
    return items;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the outbox");
  }
}

StatusOr<std::optional<SyncState>> PocoLocalStore::GetSyncState(const std::string& type,
                                                                const std::string& id) {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::string bound_type = type;
    std::string bound_id = id;
    std::vector<std::string> types, ids, remote, hash;
    std::vector<Poco::Int64> local_version, agreed;
    lease.session() << sql_.push->get_sync_state, use(bound_type), use(bound_id), into(types),
        into(ids), into(remote), into(hash), into(local_version), into(agreed), now;
    if (types.empty()) return std::optional<SyncState>();
    SyncState state{types[0], ids[0], remote[0], hash[0], local_version[0], agreed[0]};
    return std::optional<SyncState>(std::move(state));
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read sync state of " + EscapeForMessage(type) + "/" +
                                         EscapeForMessage(id));
  }
}

StatusOr<std::vector<ConflictRecord>> PocoLocalStore::ListConflicts(const std::string& status,
                                                                    std::int64_t limit) {
  if (limit < 0) return InvalidArgumentError("limit must not be negative");
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    int has_status = status.empty() ? 0 : 1;
    std::string bound_status = status;
    Poco::Int64 bound_limit = limit;
    ConflictColumns columns;
    Statement statement(lease.session());
    statement << sql_.push->list_conflicts, use(has_status), use(bound_status), use(bound_limit);
    columns.BindTo(statement);
    statement.execute();
    return columns.Take();
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "list conflicts");
  }
}

StatusOr<ConflictRecord> PocoLocalStore::GetConflict(std::int64_t conflict_id) {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    Poco::Int64 bound_id = conflict_id;
    ConflictColumns columns;
    Statement statement(lease.session());
    statement << sql_.push->get_conflict, use(bound_id);
    columns.BindTo(statement);
    statement.execute();
    std::vector<ConflictRecord> records = columns.Take();
    if (records.empty()) {
      return NotFoundError("conflict " + std::to_string(conflict_id) + " does not exist");
    }
    return std::move(records.front());
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read conflict " + std::to_string(conflict_id));
  }
}

StatusOr<std::vector<WriteResult>> PocoLocalStore::WriteInOpenTransaction(
    std::span<const WriteOp> ops, const WriteOptions& options) {
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<PreparedOp> prepared, PrepareBatch(ops, 0));
  WriteContext context = StartWriteContext(options);
  std::vector<WriteResult> results;
  FHIRSYNC_RETURN_IF_ERROR(ApplyChunkLocked(ops, prepared, 0, context, &results));
  return results;
}

std::vector<std::int64_t> PocoLocalStore::InsertAuditLocked(std::span<const AuditRecord> records,
                                                            std::int64_t now_ms) {
  std::vector<std::int64_t> ids;
  if (records.empty()) return ids;
  std::vector<Poco::Int64> at_ms, local_version, retry_of;
  std::vector<std::string> operation, type, id, remote_version, transport, outcome, message,
      correlation_id;
  std::vector<int> http_status;
  for (const AuditRecord& r : records) {
    at_ms.push_back(r.at_ms != 0 ? r.at_ms : now_ms);
    operation.push_back(r.operation);
    type.push_back(r.type);
    id.push_back(r.id);
    local_version.push_back(r.local_version);
    remote_version.push_back(r.remote_version);
    transport.push_back(r.transport);
    outcome.push_back(r.outcome);
    http_status.push_back(r.http_status);
    message.push_back(r.message);
    retry_of.push_back(r.retry_of);
    correlation_id.push_back(r.correlation_id);
  }
  {
    // One statement bound to every row: prepared once, not once per row.
    Statement insert(write_session_);
    insert << sql_.push->insert_audit, use(at_ms), use(operation), use(type), use(id),
        use(local_version), use(remote_version), use(transport), use(outcome), use(http_status),
        use(message), use(retry_of), use(correlation_id);
    insert.execute();
  }
  Poco::Int64 last = 0;
  write_session_ << sql_.push->last_audit_id, into(last), now;
  for (std::size_t i = 0; i < records.size(); ++i) {
    ids.push_back(last - static_cast<std::int64_t>(records.size()) + 1 +
                  static_cast<std::int64_t>(i));
  }
  return ids;
}

StatusOr<PushRecordResult> PocoLocalStore::RecordPush(const PushRecord& record) {
  if (record.server_copy && record.parent_node_id.empty()) {
    return InvalidArgumentError("a server copy needs the parent's node id as its origin");
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  PushRecordResult result;
  try {
    BeginWrite(write_session_);
    const std::int64_t now_ms = NowMillis();
    auto fail = [&](Status status) -> StatusOr<PushRecordResult> {
      RollbackQuietly();
      return status;
    };
    if (record.server_copy) {
      WriteOptions from_parent;
      from_parent.from_node = record.parent_node_id;
      StatusOr<std::vector<WriteResult>> written =
          WriteInOpenTransaction(std::span<const WriteOp>(&*record.server_copy, 1), from_parent);
      if (!written.ok()) return fail(written.status().WithContext("restore the server copy"));
      result.server_copy = written->front();
    }
    if (record.local_write) {
      StatusOr<std::vector<WriteResult>> written =
          WriteInOpenTransaction(std::span<const WriteOp>(&*record.local_write, 1), {});
      if (!written.ok()) return fail(written.status().WithContext("write the local version"));
      result.local_write = written->front();
      if (result.local_write->changed && !record.correlation_id.empty()) {
        std::string correlation = record.correlation_id;
        Poco::Int64 seq = result.local_write->seq;
        write_session_ << sql_.push->set_outbox_correlation, use(correlation), use(seq), now;
      }
    }
    if (!record.transitions.empty()) {
      std::vector<std::string> state, outcome, message;
      std::vector<int> count_attempt, http_status, has_force, force;
      std::vector<Poco::Int64> next_attempt, seq;
      for (const OutboxTransition& t : record.transitions) {
        state.push_back(t.state);
        count_attempt.push_back(t.count_attempt ? 1 : 0);
        http_status.push_back(t.http_status);
        outcome.push_back(t.outcome);
        message.push_back(t.message);
        next_attempt.push_back(t.next_attempt_ms);
        has_force.push_back(t.force ? 1 : 0);
        force.push_back(t.force.value_or(false) ? 1 : 0);
        seq.push_back(t.seq);
      }
      // Every item named must exist (the answer is NotFound naming it). The
      // update below is one statement bound to every transition, whose
      // changed-row count Poco does not total on every backend, so the
      // check is one count first.
      std::set<Poco::Int64> distinct(seq.begin(), seq.end());
      std::string listed;
      for (Poco::Int64 one : distinct) {
        listed += (listed.empty() ? "" : ",") + std::to_string(one);
      }
      Poco::Int64 found = 0;
      write_session_ << "SELECT count(*) FROM outbox WHERE seq IN (" + listed + ")", into(found),
          now;
      if (found != static_cast<Poco::Int64>(distinct.size())) {
        for (Poco::Int64 one : distinct) {
          Poco::Int64 exists = 0;
          write_session_ << sql_.push->count_outbox_item, use(one), into(exists), now;
          if (exists == 0) {
            return fail(NotFoundError("outbox item " + std::to_string(one) + " does not exist"));
          }
        }
      }
      Statement update(write_session_);
      update << sql_.push->transition_outbox, use(state), use(count_attempt), use(http_status),
          use(outcome), use(message), use(next_attempt), use(has_force), use(force), use(seq);
      update.execute();
    }
    if (!record.agreed.empty()) {
      AgreementColumns agreements;
      for (SyncState agreed : record.agreed) {
        if (agreed.local_version == 0 && result.server_copy) {
          agreed.local_version = result.server_copy->version;
        }
        agreed.agreed_ms = now_ms;
        agreements.Add(agreed);
      }
      Statement upsert(write_session_);
      upsert << sql_.push->upsert_sync_state, use(agreements.type), use(agreements.id),
          use(agreements.remote_version), use(agreements.content_hash),
          use(agreements.local_version), use(agreements.agreed_ms);
      upsert.execute();
    }
    if (record.new_conflict) {
      const ConflictRecord& c = *record.new_conflict;
      std::string type = c.type, id = c.id, base_body = c.base_body, local_body = c.local_body,
                  remote_version = c.remote_version, remote_body = c.remote_body,
                  status = c.status.empty() ? std::string(kConflictOpen) : c.status;
      Poco::Int64 outbox_seq = c.outbox_seq, base_version = c.base_version,
                  local_version = c.local_version, created_ms = now_ms;
      // One open conflict per resource (a pull may have kept the server's
      // copy beside this change already): it is brought up to date rather
      // than doubled, so resolving it settles the resource.
      std::vector<Poco::Int64> open;
      write_session_ << sql_.push->select_open_conflict, use(type), use(id), into(open), now;
      Poco::Int64 conflict_id = 0;
      if (!open.empty() && status == kConflictOpen) {
        conflict_id = open.front();
        write_session_ << sql_.push->replace_conflict, use(outbox_seq), use(base_version),
            use(base_body), use(local_version), use(local_body), use(remote_version),
            use(remote_body), use(conflict_id), now;
      } else {
        write_session_ << sql_.push->insert_conflict, use(type), use(id), use(outbox_seq),
            use(base_version), use(base_body), use(local_version), use(local_body),
            use(remote_version), use(remote_body), use(status), use(created_ms),
            into(conflict_id), now;
      }
      result.conflict_id = conflict_id;
    }
    if (record.resolve_conflict_id != 0) {
      std::string status = kConflictResolved;
      Poco::Int64 resolved_ms = now_ms;
      Poco::Int64 conflict_id = record.resolve_conflict_id;
      Statement update(write_session_);
      update << sql_.push->resolve_conflict, use(status), use(resolved_ms), use(conflict_id);
      if (update.execute() != 1) {
        return fail(NotFoundError("conflict " + std::to_string(conflict_id) +
                                  " does not exist"));
      }
    }
    // A conflict is a local change waiting beside a server copy: once no
    // change of its resource waits (sent, discarded), it is settled.
    std::vector<AuditRecord> settled;
    Poco::Int64 open_conflicts = 0;
    if (!record.transitions.empty()) {
      write_session_ << sql_.push->count_open_conflicts, into(open_conflicts), now;
    }
    for (const OutboxTransition& t : record.transitions) {
      if (open_conflicts == 0) break;
      Poco::Int64 seq = t.seq;
      std::vector<Poco::Int64> ids;
      std::vector<std::string> types, resource_ids;
      write_session_ << sql_.push->select_settled_conflicts, use(seq), into(ids), into(types),
          into(resource_ids), now;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        std::string status = kConflictResolved;
        Poco::Int64 resolved_ms = now_ms;
        Poco::Int64 conflict_id = ids[i];
        write_session_ << sql_.push->resolve_conflict, use(status), use(resolved_ms),
            use(conflict_id), now;
        AuditRecord row;
        row.operation = "resolve";
        row.outcome = "settled";
        row.type = types[i];
        row.id = resource_ids[i];
        row.message = "conflict " + std::to_string(ids[i]) + " settled: no local change of " +
                      types[i] + "/" + resource_ids[i] + " waits any more (item " +
                      std::to_string(t.seq) + " " + t.state + ")";
        row.correlation_id = record.correlation_id;
        settled.push_back(std::move(row));
      }
    }
    if (record.pause) {
      std::string key = kPauseKey;
      if (record.pause->empty()) {
        write_session_ << sql_.push->delete_meta, use(key), now;
      } else {
        std::string value = *record.pause;
        write_session_ << sql_.push->upsert_meta, use(key), use(value), now;
      }
    }
    if (record.parent_answered) SetMetaTimeLocked(kContactKey, now_ms);
    // Audit rows last, all in one statement: a negative retry_of points at
    // an earlier row of this list, whose id is known once it is written, so
    // the rows go in runs that end at each such reference.
    std::vector<AuditRecord> rows;
    rows.reserve(record.audit.size() + settled.size());
    for (const AuditRecord& original : record.audit) {
      AuditRecord row = original;
      if (row.local_version == 0) {
        if (result.local_write && result.local_write->changed) {
          row.local_version = result.local_write->version;
        } else if (result.server_copy) {
          row.local_version = result.server_copy->version;
        }
      }
      if (row.retry_of < 0) {
        const std::size_t index = static_cast<std::size_t>(-row.retry_of) - 1;
        if (index >= result.audit_ids.size() + rows.size()) {
          row.retry_of = 0;  // points past itself: no such row
        } else if (index >= result.audit_ids.size()) {
          std::vector<std::int64_t> ids = InsertAuditLocked(rows, now_ms);
          result.audit_ids.insert(result.audit_ids.end(), ids.begin(), ids.end());
          rows.clear();
          row.retry_of = result.audit_ids[index];
        } else {
          row.retry_of = result.audit_ids[index];
        }
      }
      rows.push_back(std::move(row));
    }
    std::vector<std::int64_t> ids = InsertAuditLocked(rows, now_ms);
    result.audit_ids.insert(result.audit_ids.end(), ids.begin(), ids.end());
    InsertAuditLocked(settled, now_ms);
    CommitWrite(write_session_);
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    return TranslateException(error, "record a push step");
  }
  return result;
}

StatusOr<std::string> PocoLocalStore::PushPause() {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::string key = kPauseKey;
    std::vector<std::string> values;
    lease.session() << sql_.select_meta, use(key), into(values), now;
    return values.empty() ? std::string() : values.front();
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the push pause");
  }
}

void PocoLocalStore::SetMetaTimeLocked(const char* key, std::int64_t ms) {
  std::string name = key;
  std::string value = std::to_string(ms);
  write_session_ << sql_.push->upsert_meta, use(name), use(value), now;
}

void PocoLocalStore::RecordPullContactLocked(bool completes_pull, std::int64_t now_ms) {
  SetMetaTimeLocked(kContactKey, now_ms);
  if (completes_pull) SetMetaTimeLocked(kPullCompletedKey, now_ms);
}

StatusOr<ParentContact> PocoLocalStore::GetParentContact() {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    auto read = [&](const char* key) -> std::int64_t {
      std::string name = key;
      std::vector<std::string> values;
      lease.session() << sql_.select_meta, use(name), into(values), now;
      if (values.empty()) return 0;
      // Written only by SetMetaTimeLocked; anything else reads as never.
      try {
        return std::stoll(values.front());
      } catch (const std::exception&) {
        return 0;
      }
    };
    ParentContact contact;
    contact.last_contact_ms = read(kContactKey);
    contact.last_pull_ms = read(kPullCompletedKey);
    return contact;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the last contact with the parent");
  }
}

StatusOr<std::int64_t> PocoLocalStore::AppendAudit(const AuditRecord& record) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  try {
    BeginWrite(write_session_);
    std::vector<std::int64_t> ids = InsertAuditLocked(std::span(&record, 1), NowMillis());
    CommitWrite(write_session_);
    return ids.front();
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    return TranslateException(error, "append to the audit log");
  }
}

StatusOr<std::vector<AuditRecord>> PocoLocalStore::QueryAudit(const AuditQuery& query) {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    Poco::Int64 since = query.since_ms.value_or(std::numeric_limits<std::int64_t>::min());
    std::string outcome = query.outcome, operation = query.operation, type = query.type,
                id = query.id, correlation = query.correlation_id;
    Poco::Int64 after_id = query.after_id;
    Poco::Int64 limit = query.limit;
    std::vector<Poco::Int64> audit_id, at_ms, local_version, retry_of;
    std::vector<std::string> operations, types, ids, remote, transport, outcomes, messages,
        correlations;
    std::vector<int> http_status;
    Statement statement(lease.session());
    statement << sql_.push->query_audit, use(since), use(outcome), use(operation), use(type),
        use(id), use(correlation), use(after_id), use(limit), into(audit_id), into(at_ms),
        into(operations), into(types), into(ids), into(local_version), into(remote),
        into(transport), into(outcomes), into(http_status), into(messages), into(retry_of),
        into(correlations);
    statement.execute();
    std::vector<AuditRecord> rows;
    for (std::size_t i = 0; i < audit_id.size(); ++i) {
      AuditRecord row;
      row.audit_id = audit_id[i];
      row.at_ms = at_ms[i];
      row.operation = std::move(operations[i]);
      row.type = std::move(types[i]);
      row.id = std::move(ids[i]);
      row.local_version = local_version[i];
      row.remote_version = std::move(remote[i]);
      row.transport = std::move(transport[i]);
      row.outcome = std::move(outcomes[i]);
      row.http_status = http_status[i];
      row.message = std::move(messages[i]);
      row.retry_of = retry_of[i];
      row.correlation_id = std::move(correlations[i]);
      rows.push_back(std::move(row));
    }
    return rows;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the audit log");
  }
}

}  // namespace fhirsync::store
