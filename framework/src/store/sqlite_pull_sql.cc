// The pull, sync-state, conflict and audit SQL of the SQLite backend (see
// pull_sql.h).

#include "store/pull_sql.h"

namespace fhirsync::store {
namespace {

// CROSS JOIN keeps json_each as the outer loop: one index lookup per key.
std::string KeyJoin() {
  return " FROM json_each(?) AS k CROSS JOIN ";
}

PullSql MakeSqlitePullSql() {
  PullSql sql;
  // None: the outbox is reached by resource through the index of `changes`
  // (sqlite_sql.cc).
  sql.ensure_indexes = {};
  const std::string on = " ON %.type = json_extract(k.value, '$[0]')"
                         " AND %.id = json_extract(k.value, '$[1]')";
  auto on_alias = [&](char alias) {
    std::string text = on;
    for (char& c : text) {
      if (c == '%') c = alias;
    }
    return text;
  };
  sql.select_sync_state_many =
      "SELECT s.type, s.id, s.remote_version, s.content_hash, s.local_version, s.agreed_ms" +
      KeyJoin() + "sync_state AS s" + on_alias('s');
  sql.select_blocking_outbox_many =
      "SELECT c.type, c.id, min(o.seq)" + KeyJoin() + "changes AS c" + on_alias('c') +
      " JOIN outbox AS o ON o.seq = c.seq"
      " WHERE o.state IN ('pending', 'dead') GROUP BY c.type, c.id";
  sql.select_open_conflicts_many =
      "SELECT f.conflict_id, f.type, f.id, coalesce(f.remote_version, '')" + KeyJoin() +
      "conflicts AS f" + on_alias('f') + " WHERE f.status = 'open'";
  sql.upsert_sync_state =
      "INSERT INTO sync_state (type, id, remote_version, content_hash, local_version, agreed_ms)"
      " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET"
      " remote_version = excluded.remote_version, content_hash = excluded.content_hash,"
      " local_version = excluded.local_version, agreed_ms = excluded.agreed_ms";

  sql.select_cursor = "SELECT feed, position, updated_ms FROM cursors WHERE parent_node_id = ?";
  sql.upsert_cursor =
      "INSERT INTO cursors (parent_node_id, feed, position, updated_ms) VALUES (?, ?, ?, ?)"
      " ON CONFLICT (parent_node_id) DO UPDATE SET feed = excluded.feed,"
      " position = excluded.position, updated_ms = excluded.updated_ms";

  sql.insert_conflict =
      "INSERT INTO conflicts (type, id, outbox_seq, base_version, base_body, local_version,"
      " local_body, remote_version, remote_body, status, created_ms)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)";
  sql.last_conflict_id = "SELECT coalesce(max(conflict_id), 0) FROM conflicts";
  sql.update_conflict_remote =
      "UPDATE conflicts SET remote_version = ?, remote_body = ? WHERE conflict_id = ?";
  sql.list_conflicts =
      "SELECT conflict_id, type, id, coalesce(outbox_seq, 0), coalesce(base_version, 0),"
      " coalesce(base_body, ''), coalesce(local_version, 0), coalesce(local_body, ''),"
      " coalesce(remote_version, ''), coalesce(remote_body, ''), status, created_ms,"
      " coalesce(resolved_ms, 0) FROM conflicts WHERE (? = 0 OR status = ?)"
      " ORDER BY conflict_id DESC LIMIT ?";

  sql.select_audit =
      "SELECT audit_id, at_ms, operation, coalesce(type, ''), coalesce(id, ''),"
      " coalesce(local_version, 0), coalesce(remote_version, ''), coalesce(transport, ''),"
      " outcome, coalesce(http_status, 0), coalesce(message, ''), coalesce(retry_of, 0)"
      " FROM audit WHERE audit_id > ?1 AND at_ms >= ?2 AND (?3 = '' OR operation = ?3)"
      " AND (?4 = '' OR type = ?4) AND (?5 = '' OR id = ?5) AND (?6 = '' OR outcome = ?6)"
      " ORDER BY audit_id LIMIT ?7";
  return sql;
}

}  // namespace

const PullSql& SqlitePullSql() {
  static const PullSql* const sql = new PullSql(MakeSqlitePullSql());
  return *sql;
}

}  // namespace fhirsync::store
