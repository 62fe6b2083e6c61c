// The SQL of the store's push section (outbox states, sync_state,
// conflicts, audit) for both backends (internal header).
//
// Kept apart from store_sql.h so the push side's statements live in one
// file. Both dialects use numbered placeholders (SQLite ?N, PostgreSQL $N),
// so PocoLocalStore binds the same values in the same order on both. As in
// store_sql.h, no statement is ever built from values.

#ifndef FHIRSYNC_STORE_PUSH_SQL_H_
#define FHIRSYNC_STORE_PUSH_SQL_H_

#include <string>
#include <vector>

namespace fhirsync::store {

struct PushSql {
  // DDL taking a schema-version-1 store to version 2 (outbox message and
  // force flag, audit correlation id, indexes), run in the open transaction.
  std::vector<std::string> migrate_to_2;
  // Schema version 5: the index the push service's due view reads.
  std::vector<std::string> migrate_to_5;
  // (key, value): insert or replace a meta row.
  std::string upsert_meta;
  // (key).
  std::string delete_meta;

  // (with_bodies, after_seq, has_states, states JSON array, type, id,
  //  due_filter 0/1, due_at_ms, limit) -> seq, type, id, version, state,
  //  base_remote_version, attempts, next_attempt_ms, last_http_status,
  //  outcome, message, correlation_id, force, action, at_ms, body,
  //  content_hash.
  // Due: pending, and no dead item or not-yet-due pending item of the same
  // resource at or before it (so a resource's items go together, in order).
  std::string list_outbox;
  // (with_bodies 0/1, after_seq, due_at_ms, limit) -> the same columns: the
  // push service's view (due items only) as its own statement, so that it
  // reads the pending items through outbox_pending (state, seq) instead of
  // scanning every item ever sent, which a node keeps.
  std::string list_due_outbox;
  // (state, count_attempt 0/1, http_status, outcome, message,
  //  next_attempt_ms, has_force 0/1, force 0/1, seq).
  std::string transition_outbox;
  // (correlation_id, seq).
  std::string set_outbox_correlation;
  // (seq) -> 1 when outbox item seq exists, else 0.
  std::string count_outbox_item;

  // (type, id) -> type, id, remote_version, content_hash, local_version,
  //  agreed_ms.
  std::string get_sync_state;
  // (type, id, remote_version, content_hash, local_version, agreed_ms).
  std::string upsert_sync_state;

  // (type, id, outbox_seq, base_version, base_body, local_version,
  //  local_body, remote_version, remote_body, status, created_ms)
  //  -> conflict_id.
  std::string insert_conflict;
  // Conflict columns: conflict_id, type, id, outbox_seq, base_version,
  // base_body, local_version, local_body, remote_version, remote_body,
  // status, created_ms, resolved_ms.
  // (has_status, status, limit) -> conflict columns, newest first.
  std::string list_conflicts;
  // (conflict_id) -> conflict columns.
  std::string get_conflict;
  // (status, resolved_ms, conflict_id).
  std::string resolve_conflict;
  // (type, id) -> conflict_id of the resource's oldest open conflict.
  std::string select_open_conflict;
  // (outbox_seq, base_version, base_body, local_version, local_body,
  //  remote_version, remote_body, conflict_id): the conflict now describes
  //  the newer clash.
  std::string replace_conflict;
  // (seq) -> conflict_id, type, id: the open conflicts of the resource of
  // outbox item seq when no pending or dead item of that resource is left
  // (nothing waits on them any more).
  std::string select_settled_conflicts;

  // (at_ms, operation, type, id, local_version, remote_version, transport,
  //  outcome, http_status, message, retry_of (0: none), correlation_id), bound
  //  for many rows at once. The ids are read afterwards with last_audit_id:
  //  writers hold the store's writer lock, so the rows just added are the
  //  newest ids, consecutive.
  std::string insert_audit;
  // () -> the largest audit_id (0: none).
  std::string last_audit_id;
  // () -> how many conflicts are open: when none, no outbox transition can
  // settle one, and the per-item settling query is skipped.
  std::string count_open_conflicts;
  // (since_ms, outcome, operation, type, id, correlation_id, after_id,
  //  limit) -> audit_id, at_ms, operation, type, id, local_version,
  //  remote_version, transport, outcome, http_status, message, retry_of,
  //  correlation_id. Empty text parameters match anything.
  std::string query_audit;
};

const PushSql& SqlitePushSql();
const PushSql& PostgresPushSql();

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_PUSH_SQL_H_
