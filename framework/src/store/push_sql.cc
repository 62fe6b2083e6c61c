// Every SQL statement of the store's push section, for both backends (see
// push_sql.h). The statements are the same text; only the placeholder
// spelling and PostgreSQL's parameter casts differ, which P() supplies.

#include "store/push_sql.h"

namespace fhirsync::store {
namespace {

enum class Dialect { kSqlite, kPostgres };

PushSql MakePushSql(Dialect dialect) {
  const bool pg = dialect == Dialect::kPostgres;
  // Placeholder N, cast to `type` on PostgreSQL (whose planner cannot infer
  // the type of a parameter compared with another parameter).
  auto P = [pg](int n, const char* type = nullptr) {
    std::string text = (pg ? "$" : "?") + std::to_string(n);
    if (pg && type != nullptr) text += std::string("::") + type;
    return text;
  };
  const std::string json_list = pg ? "SELECT json_array_elements_text(" + P(4, "json") + ")"
                                   : "SELECT value FROM json_each(" + P(4) + ")";
  PushSql sql;
  sql.migrate_to_2 = {
      "ALTER TABLE outbox ADD COLUMN message TEXT NOT NULL DEFAULT ''",
      "ALTER TABLE outbox ADD COLUMN force_write INTEGER NOT NULL DEFAULT 0",
      "ALTER TABLE audit ADD COLUMN correlation_id TEXT NOT NULL DEFAULT ''",
      "CREATE INDEX outbox_by_resource ON outbox (type, id, seq)",
      "CREATE INDEX audit_by_correlation ON audit (correlation_id)",
  };
  sql.upsert_meta = "INSERT INTO meta (key, value) VALUES (" + P(1) + ", " + P(2) +
                    ") ON CONFLICT (key) DO UPDATE SET value = excluded.value";
  sql.delete_meta = "DELETE FROM meta WHERE key = " + P(1);

  const std::string outbox_columns =
      "SELECT o.seq, o.type, o.id, o.version, o.state, o.base_remote_version, o.attempts,"
      " o.next_attempt_ms, o.last_http_status, o.outcome, o.message, o.correlation_id,"
      " o.force_write, c.action, c.at_ms,"
      " CASE WHEN " + P(1, "integer") + " <> 0 THEN c.body ELSE '' END, c.content_hash"
      " FROM outbox o JOIN changes c ON c.seq = o.seq";
  // No dead item, and no pending item not due yet at `due_at`, of the same
  // resource at or before o. The resource's own changes are read first (by
  // their (type, id) index) and their outbox rows by seq: CROSS JOIN fixes
  // that order for SQLite, whose planner would otherwise walk every earlier
  // pending item through outbox_pending for each candidate.
  auto nothing_before = [&](const std::string& due_at) {
    return " NOT EXISTS ("
           "   SELECT 1 FROM changes dc CROSS JOIN outbox d"
           "   WHERE d.seq = dc.seq AND dc.type = o.type AND dc.id = o.id AND dc.seq <= o.seq"
           "   AND (d.state = 'dead' OR (d.state = 'pending' AND d.next_attempt_ms > " +
           due_at + ")))";
  };
  sql.list_outbox =
      outbox_columns + " WHERE o.seq > " + P(2, "bigint") +
      " AND (" + P(3, "integer") + " = 0 OR o.state IN (" + json_list + "))"
      " AND (" + P(5, "text") + " = '' OR (o.type = " + P(5, "text") + " AND (" + P(6, "text") +
      " = '' OR o.id = " + P(6, "text") + ")))"
      " AND (" + P(7, "integer") + " = 0 OR (o.state = 'pending' AND" +
      nothing_before(P(8, "bigint")) + "))"
      " ORDER BY o.seq LIMIT " + P(9, "bigint");
  sql.list_due_outbox = outbox_columns + " WHERE o.state = 'pending' AND o.seq > " +
                        P(2, "bigint") + " AND" + nothing_before(P(3, "bigint")) +
                        " ORDER BY o.state, o.seq LIMIT " + P(4, "bigint");
  sql.migrate_to_5 = {"CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, seq)"};
  sql.transition_outbox =
      "UPDATE outbox SET state = " + P(1) + ", attempts = attempts + " + P(2, "integer") +
      ", last_http_status = " + P(3, "integer") + ", outcome = " + P(4) +
      ", message = " + P(5) + ", next_attempt_ms = " + P(6, "bigint") +
      ", force_write = CASE WHEN " + P(7, "integer") + " <> 0 THEN " + P(8, "integer") +
      " ELSE force_write END WHERE seq = " + P(9, "bigint");
  sql.set_outbox_correlation =
      "UPDATE outbox SET correlation_id = " + P(1) + " WHERE seq = " + P(2, "bigint");
  sql.count_outbox_item = "SELECT count(*) FROM outbox WHERE seq = " + P(1, "bigint");

  sql.get_sync_state =
      "SELECT type, id, remote_version, content_hash, local_version, agreed_ms FROM sync_state"
      " WHERE type = " + P(1) + " AND id = " + P(2);
  sql.upsert_sync_state =
      "INSERT INTO sync_state (type, id, remote_version, content_hash, local_version,"
      " agreed_ms) VALUES (" + P(1) + ", " + P(2) + ", " + P(3) + ", " + P(4) + ", " +
      P(5, "bigint") + ", " + P(6, "bigint") + ")"
      " ON CONFLICT (type, id) DO UPDATE SET remote_version = excluded.remote_version,"
      " content_hash = excluded.content_hash, local_version = excluded.local_version,"
      " agreed_ms = excluded.agreed_ms";

  const std::string conflict_columns =
      "conflict_id, type, id, coalesce(outbox_seq, 0), coalesce(base_version, 0),"
      " coalesce(base_body, ''), coalesce(local_version, 0), coalesce(local_body, ''),"
      " coalesce(remote_version, ''), coalesce(remote_body, ''), status, created_ms,"
      " coalesce(resolved_ms, 0)";
  sql.insert_conflict =
      "INSERT INTO conflicts (type, id, outbox_seq, base_version, base_body, local_version,"
      " local_body, remote_version, remote_body, status, created_ms) VALUES (" +
      P(1) + ", " + P(2) + ", " + P(3, "bigint") + ", " + P(4, "bigint") + ", " + P(5) + ", " +
      P(6, "bigint") + ", " + P(7) + ", " + P(8) + ", " + P(9) + ", " + P(10) + ", " +
      P(11, "bigint") + ") RETURNING conflict_id";
  sql.list_conflicts = "SELECT " + conflict_columns + " FROM conflicts WHERE (" +
                       P(1, "integer") + " = 0 OR status = " + P(2, "text") +
                       ") ORDER BY conflict_id DESC LIMIT " + P(3, "bigint");
  sql.get_conflict =
      "SELECT " + conflict_columns + " FROM conflicts WHERE conflict_id = " + P(1, "bigint");
  sql.resolve_conflict = "UPDATE conflicts SET status = " + P(1) + ", resolved_ms = " +
                         P(2, "bigint") + " WHERE conflict_id = " + P(3, "bigint");
  sql.select_open_conflict = "SELECT conflict_id FROM conflicts WHERE type = " + P(1) +
                             " AND id = " + P(2) +
                             " AND status = 'open' ORDER BY conflict_id LIMIT 1";
  sql.replace_conflict =
      "UPDATE conflicts SET outbox_seq = " + P(1, "bigint") + ", base_version = " +
      P(2, "bigint") + ", base_body = " + P(3) + ", local_version = " + P(4, "bigint") +
      ", local_body = " + P(5) + ", remote_version = " + P(6) + ", remote_body = " + P(7) +
      " WHERE conflict_id = " + P(8, "bigint");
  sql.select_settled_conflicts =
      "SELECT k.conflict_id, k.type, k.id FROM conflicts k"
      " JOIN outbox o ON o.type = k.type AND o.id = k.id AND o.seq = " + P(1, "bigint") +
      " WHERE k.status = 'open' AND NOT EXISTS (SELECT 1 FROM changes wc"
      " JOIN outbox w ON w.seq = wc.seq WHERE wc.type = k.type AND wc.id = k.id"
      " AND w.state IN ('pending', 'dead')) ORDER BY k.conflict_id";

  sql.insert_audit =
      "INSERT INTO audit (at_ms, operation, type, id, local_version, remote_version,"
      " transport, outcome, http_status, message, retry_of, correlation_id) VALUES (" +
      P(1, "bigint") + ", " + P(2) + ", " + P(3) + ", " + P(4) + ", " + P(5, "bigint") + ", " +
      P(6) + ", " + P(7) + ", " + P(8) + ", " + P(9, "integer") + ", " + P(10) + ", NULLIF(" +
      P(11, "bigint") + ", 0), " + P(12) + ")";
  sql.last_audit_id = "SELECT coalesce(max(audit_id), 0) FROM audit";
  sql.count_open_conflicts = "SELECT count(*) FROM conflicts WHERE status = 'open'";
  sql.query_audit =
      "SELECT audit_id, at_ms, operation, coalesce(type, ''), coalesce(id, ''),"
      " coalesce(local_version, 0), coalesce(remote_version, ''), coalesce(transport, ''),"
      " outcome, coalesce(http_status, 0), coalesce(message, ''), coalesce(retry_of, 0),"
      " correlation_id FROM audit WHERE at_ms >= " + P(1, "bigint") +
      " AND (" + P(2, "text") + " = '' OR outcome = " + P(2, "text") + ")"
      " AND (" + P(3, "text") + " = '' OR operation = " + P(3, "text") + ")"
      " AND (" + P(4, "text") + " = '' OR type = " + P(4, "text") + ")"
      " AND (" + P(5, "text") + " = '' OR id = " + P(5, "text") + ")"
      " AND (" + P(6, "text") + " = '' OR correlation_id = " + P(6, "text") + ")"
      " AND audit_id > " + P(7, "bigint") + " ORDER BY audit_id LIMIT " + P(8, "bigint");
  return sql;
}

}  // namespace

const PushSql& SqlitePushSql() {
  static const PushSql* const sql = new PushSql(MakePushSql(Dialect::kSqlite));
  return *sql;
}

const PushSql& PostgresPushSql() {
  static const PushSql* const sql = new PushSql(MakePushSql(Dialect::kPostgres));
  return *sql;
}

}  // namespace fhirsync::store
