// The pull, sync-state, conflict and audit SQL of the PostgreSQL backend (see
// pull_sql.h).

#include "store/pull_sql.h"

namespace fhirsync::store {
namespace {

std::string KeyJoin(char alias, const std::string& table) {
  const std::string a(1, alias);
  return " FROM json_array_elements($1::json) AS k JOIN " + table + " AS " + a + " ON " + a +
         ".type = (k.value ->> 0) AND " + a + ".id = (k.value ->> 1)";
}

PullSql MakePostgresPullSql() {
  PullSql sql;
  sql.ensure_indexes = {
      "CREATE INDEX IF NOT EXISTS outbox_by_resource ON outbox (type, id, state)",
  };
  sql.select_sync_state_many =
      "SELECT s.type, s.id, s.remote_version, s.content_hash, s.local_version, s.agreed_ms" +
      KeyJoin('s', "sync_state");
  sql.select_blocking_outbox_many = "SELECT o.type, o.id, min(o.seq)" + KeyJoin('o', "outbox") +
                                    " WHERE o.state IN ('pending', 'dead') GROUP BY o.type, o.id";
  sql.select_open_conflicts_many =
      "SELECT f.conflict_id, f.type, f.id, coalesce(f.remote_version, '')" +
      KeyJoin('f', "conflicts") + " WHERE f.status = 'open'";
  sql.upsert_sync_state =
      "INSERT INTO sync_state (type, id, remote_version, content_hash, local_version, agreed_ms)"
      " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (type, id) DO UPDATE SET"
      " remote_version = excluded.remote_version, content_hash = excluded.content_hash,"
      " local_version = excluded.local_version, agreed_ms = excluded.agreed_ms";

  sql.select_cursor =
      "SELECT feed, position, updated_ms FROM cursors WHERE parent_node_id = $1";
  sql.upsert_cursor =
      "INSERT INTO cursors (parent_node_id, feed, position, updated_ms) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT (parent_node_id) DO UPDATE SET feed = excluded.feed,"
      " position = excluded.position, updated_ms = excluded.updated_ms";

  sql.insert_conflict =
      "INSERT INTO conflicts (type, id, outbox_seq, base_version, base_body, local_version,"
      " local_body, remote_version, remote_body, status, created_ms)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)";
  sql.last_conflict_id = "SELECT coalesce(max(conflict_id), 0) FROM conflicts";
  sql.update_conflict_remote =
      "UPDATE conflicts SET remote_version = $1, remote_body = $2 WHERE conflict_id = $3";
  sql.list_conflicts =
      "SELECT conflict_id, type, id, coalesce(outbox_seq, 0), coalesce(base_version, 0),"
      " coalesce(base_body, ''), coalesce(local_version, 0), coalesce(local_body, ''),"
      " coalesce(remote_version, ''), coalesce(remote_body, ''), status, created_ms,"
      " coalesce(resolved_ms, 0) FROM conflicts WHERE ($1 = 0 OR status = $2)"
      " ORDER BY conflict_id DESC LIMIT $3";

  sql.select_audit =
      "SELECT audit_id, at_ms, operation, coalesce(type, ''), coalesce(id, ''),"
      " coalesce(local_version, 0), coalesce(remote_version, ''), coalesce(transport, ''),"
      " outcome, coalesce(http_status, 0), coalesce(message, ''), coalesce(retry_of, 0)"
      " FROM audit WHERE audit_id > $1 AND at_ms >= $2 AND ($3 = '' OR operation = $3)"
      " AND ($4 = '' OR type = $4) AND ($5 = '' OR id = $5) AND ($6 = '' OR outcome = $6)"
      " ORDER BY audit_id LIMIT $7";
  return sql;
}

}  // namespace

const PullSql& PostgresPullSql() {
  static const PullSql* const sql = new PullSql(MakePostgresPullSql());
  return *sql;
}

}  // namespace fhirsync::store
