// Every SQL statement of the PostgreSQL backend (see store_sql.h).

#include "store/push_sql.h"
#include "store/store_sql.h"

namespace fhirsync::store {
namespace {

// Same tables as SQLite (see sqlite_sql.cc for why `changes` also holds the
// history). type and id use the "C" collation so ordering matches SQLite's
// byte order whatever the database's locale.
StoreSql MakePostgresSql() {
  StoreSql sql;
  sql.push = &PostgresPushSql();
  sql.create_schema = {
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      "CREATE TABLE changes ("
      " seq BIGINT PRIMARY KEY,"
      " type TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
      " version BIGINT NOT NULL,"
      " action TEXT NOT NULL, at_ms BIGINT NOT NULL, origin TEXT NOT NULL,"
      " format TEXT NOT NULL, deleted SMALLINT NOT NULL, content_hash TEXT NOT NULL,"
      " body TEXT NOT NULL,"
      " UNIQUE (type, id, version))",
      "CREATE TABLE resources ("
      " type TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
      " version BIGINT NOT NULL,"
      " seq BIGINT NOT NULL REFERENCES changes (seq),"
      " last_updated_ms BIGINT NOT NULL, deleted SMALLINT NOT NULL,"
      " format TEXT NOT NULL, content_hash TEXT NOT NULL,"
      " PRIMARY KEY (type, id))",
      "CREATE TABLE outbox ("
      " seq BIGINT PRIMARY KEY REFERENCES changes (seq),"
      " type TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
      " version BIGINT NOT NULL,"
      " state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
      " next_attempt_ms BIGINT NOT NULL DEFAULT 0,"
      " last_http_status INTEGER NOT NULL DEFAULT 0,"
      " outcome TEXT NOT NULL DEFAULT '', correlation_id TEXT NOT NULL,"
      " base_remote_version TEXT NOT NULL DEFAULT '')",
      // Delivered items stay (state 'sent', the operator's history), so the
      // push service's due view reads through an index on state
      // (outbox_pending, added by schema version 5).
      // Later issues fill these; they exist now so no migration is needed.
      "CREATE TABLE conflicts ("
      " conflict_id BIGSERIAL PRIMARY KEY,"
      " type TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
      " outbox_seq BIGINT,"
      " base_version BIGINT, base_body TEXT,"
      " local_version BIGINT, local_body TEXT,"
      " remote_version TEXT, remote_body TEXT,"
      " status TEXT NOT NULL DEFAULT 'open',"
      " created_ms BIGINT NOT NULL, resolved_ms BIGINT)",
      "CREATE INDEX conflicts_by_resource ON conflicts (type, id, status)",
      "CREATE TABLE sync_state ("
      " type TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
      " remote_version TEXT NOT NULL, content_hash TEXT NOT NULL,"
      " local_version BIGINT NOT NULL DEFAULT 0, agreed_ms BIGINT NOT NULL,"
      " PRIMARY KEY (type, id))",
      "CREATE TABLE cursors ("
      " parent_node_id TEXT PRIMARY KEY, feed TEXT NOT NULL, position TEXT NOT NULL,"
      " updated_ms BIGINT NOT NULL)",
      "CREATE TABLE audit ("
      " audit_id BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, operation TEXT NOT NULL,"
      " type TEXT, id TEXT, local_version BIGINT, remote_version TEXT,"
      " transport TEXT, outcome TEXT NOT NULL, http_status INTEGER, message TEXT,"
      " retry_of BIGINT REFERENCES audit (audit_id))",
      "CREATE INDEX audit_by_time ON audit (at_ms)",
  };
  sql.rehash_select =
      "SELECT seq, type, id, version, format, body, content_hash FROM changes"
      " WHERE seq > $1 AND deleted = 0 ORDER BY seq LIMIT $2";
  sql.rehash_update_change = "UPDATE changes SET content_hash = $1 WHERE seq = $2";
  sql.rehash_update_agreed =
      "UPDATE sync_state SET content_hash = $1 WHERE type = $2 AND id = $3"
      " AND local_version = $4 AND content_hash = $5";
  sql.rehash_finish = {
      "UPDATE resources r SET content_hash = c.content_hash FROM changes c"
      " WHERE c.seq = r.seq AND r.content_hash <> c.content_hash",
  };
  sql.count_meta_tables =
      "SELECT count(*) FROM information_schema.tables"
      " WHERE table_schema = current_schema() AND table_name = 'meta'";
  sql.count_tables =
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()";
  sql.select_meta = "SELECT value FROM meta WHERE key = $1";
  sql.insert_meta = "INSERT INTO meta (key, value) VALUES ($1, $2)";

  sql.last_seq = "SELECT coalesce(max(seq), 0) FROM changes";
  sql.select_current_many =
      "SELECT r.type, r.id, r.version, r.deleted, r.last_updated_ms, r.content_hash"
      " FROM json_array_elements($1::json) AS k JOIN resources AS r"
      " ON r.type = (k.value ->> 0) AND r.id = (k.value ->> 1)";
  // One statement, one round trip, for the whole chunk: a statement per row
  // costs a round trip per row.
  sql.insert_changes_json =
      "INSERT INTO changes (seq, type, id, version, action, at_ms, origin, format, deleted,"
      " content_hash, body)"
      " SELECT seq, type, id, version, action, at_ms, origin, format, deleted, content_hash,"
      " body FROM json_to_recordset($1::json) AS r (seq bigint, type text, id text,"
      " version bigint, action text, at_ms bigint, origin text, format text,"
      " deleted smallint, content_hash text, body text) ORDER BY seq";
  // One row per resource (DISTINCT ON the newest seq): PostgreSQL refuses
  // an upsert that touches a row twice.
  sql.upsert_resources_from_changes =
      "INSERT INTO resources (type, id, version, seq, last_updated_ms, deleted, format,"
      " content_hash)"
      " SELECT DISTINCT ON (type, id) type, id, version, seq, at_ms, deleted, format,"
      " content_hash FROM changes WHERE seq BETWEEN $1::bigint AND $2::bigint"
      " ORDER BY type, id, seq DESC"
      " ON CONFLICT (type, id) DO UPDATE SET version = excluded.version, seq = excluded.seq,"
      " last_updated_ms = excluded.last_updated_ms, deleted = excluded.deleted,"
      " format = excluded.format, content_hash = excluded.content_hash";
  sql.insert_outbox_for_changes =
      "INSERT INTO outbox (seq, type, id, version, state, attempts, next_attempt_ms,"
      " last_http_status, outcome, correlation_id, base_remote_version)"
      " SELECT c.seq, c.type, c.id, c.version, 'pending', 0, 0, 0, '', k.value ->> 1,"
      " coalesce(s.remote_version, '')"
      " FROM json_array_elements($1::json) AS k"
      " JOIN changes c ON c.seq = (k.value ->> 0)::bigint"
      " LEFT JOIN sync_state s ON s.type = c.type AND s.id = c.id";

  const std::string resource_columns_of_changes =
      "c.type, c.id, c.version, c.at_ms, c.deleted, c.format, c.content_hash";
  sql.get_current =
      "SELECT r.type, r.id, r.version, r.last_updated_ms, r.deleted, r.format, r.content_hash,"
      " c.body FROM resources r JOIN changes c ON c.seq = r.seq"
      " WHERE r.type = $1 AND r.id = $2";
  sql.get_version = "SELECT " + resource_columns_of_changes +
                    ", c.body FROM changes c WHERE c.type = $1 AND c.id = $2 AND c.version = $3";
  sql.history = "SELECT " + resource_columns_of_changes +
                ", c.body FROM changes c WHERE c.type = $1 AND c.id = $2"
                " ORDER BY c.version DESC";
  sql.changes =
      "SELECT c.seq, c.action, c.origin, " + resource_columns_of_changes +
      ", CASE WHEN $1::integer <> 0 THEN c.body ELSE '' END FROM changes c"
      " WHERE c.seq > $2::bigint AND ($3::integer = 0"
      "   OR c.type IN (SELECT json_array_elements_text($4::json)))"
      " AND c.at_ms >= $5::bigint ORDER BY c.seq LIMIT $6::bigint";
  const std::string search_where =
      " FROM resources r JOIN changes c ON c.seq = r.seq"
      " WHERE r.type = $1 AND r.id > $2 AND ($3::integer = 0"
      "   OR r.id IN (SELECT json_array_elements_text($4::json)))"
      " AND r.last_updated_ms >= $5::bigint AND r.last_updated_ms < $6::bigint"
      " AND ($7::integer <> 0 OR r.deleted = 0)";
  sql.search =
      "SELECT r.type, r.id, r.version, r.last_updated_ms, r.deleted, r.format, r.content_hash,"
      " c.body" + search_where + " ORDER BY r.id LIMIT $8::bigint OFFSET $9::bigint";
  sql.search_count = "SELECT count(*)" + search_where;
  sql.stats =
      "SELECT type, sum(1 - deleted)::bigint, sum(deleted)::bigint FROM resources"
      " GROUP BY type ORDER BY type";
  sql.outbox_pending_count = "SELECT count(*) FROM outbox WHERE state = 'pending'";
  sql.store_size =
      "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c"
      " JOIN pg_namespace n ON n.oid = c.relnamespace"
      " WHERE n.nspname = current_schema() AND c.relkind = 'r'";
  sql.pending_outbox =
      "SELECT seq, type, id, version, state FROM outbox WHERE state = 'pending'"
      " ORDER BY seq LIMIT $1::bigint";

  sql.check_current_pointer =
      "SELECT (SELECT count(*) FROM resources r WHERE NOT EXISTS ("
      "   SELECT 1 FROM changes c WHERE c.seq = r.seq AND c.type = r.type AND c.id = r.id"
      "   AND c.version = r.version AND c.deleted = r.deleted"
      "   AND c.content_hash = r.content_hash)"
      "  OR r.version <> (SELECT max(c.version) FROM changes c"
      "                   WHERE c.type = r.type AND c.id = r.id))"
      " + (SELECT count(*) FROM (SELECT DISTINCT type, id FROM changes) k"
      "    WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.type = k.type AND r.id = k.id))";
  sql.check_version_gaps =
      "SELECT count(*) FROM (SELECT count(*) AS n, min(version) AS lo, max(version) AS hi"
      " FROM changes GROUP BY type, id) g WHERE g.lo <> 1 OR g.hi <> g.n";
  sql.check_seq_range =
      "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM changes";
  sql.check_missing_outbox =
      "SELECT count(*) FROM changes c WHERE c.origin = $1"
      " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = c.seq)";
  sql.check_stray_outbox =
      "SELECT count(*) FROM outbox o WHERE NOT EXISTS ("
      " SELECT 1 FROM changes c WHERE c.seq = o.seq AND c.origin = $1"
      " AND c.type = o.type AND c.id = o.id AND c.version = o.version)";
  sql.pull = &PostgresPullSql();
  return sql;
}

}  // namespace

const StoreSql& PostgresSql() {
  static const StoreSql* const sql = new StoreSql(MakePostgresSql());
  return *sql;
}

}  // namespace fhirsync::store
