// The SQL text of the pull, sync-state, conflict and audit statements of one
// LocalStore backend (internal header; see store_sql.h for the rules: no
// statement is built from values, list filters take one JSON array).
//
// Parameter and column orders are the contract between this struct and
// poco_local_store_pull.cc; each field says them.

#ifndef FHIRSYNC_STORE_PULL_SQL_H_
#define FHIRSYNC_STORE_PULL_SQL_H_

#include <string>
#include <vector>

namespace fhirsync::store {

struct PullSql {
  // Idempotent DDL (IF NOT EXISTS) run once per process in the first pull
  // transaction: indexes the pull's per-resource lookups need.
  std::vector<std::string> ensure_indexes;

  // (JSON array of [type, id]) -> type, id, remote_version, content_hash,
  // local_version, agreed_ms of those with an agreement.
  std::string select_sync_state_many;
  // (JSON array of [type, id]) -> type, id, min seq of the outbox rows in
  // state 'pending' or 'dead' (the local changes a pull must not overwrite).
  std::string select_blocking_outbox_many;
  // (JSON array of [type, id]) -> conflict_id, type, id, remote_version of
  // open conflicts.
  std::string select_open_conflicts_many;
  // (type, id, remote_version, content_hash, local_version, agreed_ms),
  // bound to vectors: insert or replace the agreement.
  std::string upsert_sync_state;

  // (parent_node_id) -> feed, position, updated_ms.
  std::string select_cursor;
  // (parent_node_id, feed, position, updated_ms): insert or replace.
  std::string upsert_cursor;

  // (type, id, outbox_seq, base_version, base_body, local_version,
  //  local_body, remote_version, remote_body, created_ms): status 'open'.
  std::string insert_conflict;
  // () -> max conflict_id or 0 (the row just inserted, under the writer lock).
  std::string last_conflict_id;
  // (remote_version, remote_body, conflict_id).
  std::string update_conflict_remote;
  // (has_status 0/1, status, limit) -> conflict_id, type, id, outbox_seq,
  // base_version, base_body, local_version, local_body, remote_version,
  // remote_body, status, created_ms, resolved_ms, newest first (NULLs as 0
  // / '').
  std::string list_conflicts;

  // (after_id, since_ms, operation, type, id, outcome, limit; '' matches
  // any) ->
  // audit_id, at_ms, operation, type, id, local_version, remote_version,
  // transport, outcome, http_status, message, retry_of (NULLs as 0 / '').
  std::string select_audit;
};

const PullSql& SqlitePullSql();
const PullSql& PostgresPullSql();

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_PULL_SQL_H_
