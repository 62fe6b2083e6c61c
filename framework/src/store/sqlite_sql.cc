// Every SQL statement of the SQLite backend (see store_sql.h).

#include "store/push_sql.h"
#include "store/store_sql.h"

namespace fhirsync::store {
namespace {

// `changes` is both the change feed and the history: each version's body is
// written exactly once, here, instead of into the current row and a separate
// resource_history table as architecture §4 sketches. That halves the bytes written
// per version. Since schema version 3 `changes` is also the current state:
// the current version of a resource is its newest row, one seek in the
// (type, id, version) index. `resources` is a view, not a table, so a write
// stores no pointer: a table keyed by (type, id) gets its rows at random
// places (ids are UUIDs), and rewriting those pages at every commit cost an
// import more than all of its other work. Nor is there an index
// of the outbox by resource: per-resource questions about the outbox go
// through the same (type, id, version) index of `changes` and then the
// outbox row of each change by seq.
StoreSql MakeSqliteSql() {
  StoreSql sql;
  sql.push = &SqlitePushSql();
  sql.create_schema = {
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      "CREATE TABLE changes ("
      " seq INTEGER PRIMARY KEY,"
      " type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,"
      " action TEXT NOT NULL, at_ms INTEGER NOT NULL, origin TEXT NOT NULL,"
      " format TEXT NOT NULL, deleted INTEGER NOT NULL, content_hash TEXT NOT NULL,"
      " body TEXT NOT NULL,"
      " UNIQUE (type, id, version))",
      "CREATE TABLE outbox ("
      " seq INTEGER PRIMARY KEY REFERENCES changes (seq),"
      " type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,"
      " state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
      " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
      " last_http_status INTEGER NOT NULL DEFAULT 0,"
      " outcome TEXT NOT NULL DEFAULT '', correlation_id TEXT NOT NULL,"
      " base_remote_version TEXT NOT NULL DEFAULT '')",
      // Delivered items stay (state 'sent', the operator's history), so the
      // push service's due view reads through an index on state
      // (outbox_pending, added by schema version 5).
      // Later issues fill these; they exist now so no migration is needed.
      "CREATE TABLE conflicts ("
      " conflict_id INTEGER PRIMARY KEY,"
      " type TEXT NOT NULL, id TEXT NOT NULL,"
      " outbox_seq INTEGER,"
      " base_version INTEGER, base_body TEXT,"
      " local_version INTEGER, local_body TEXT,"
      " remote_version TEXT, remote_body TEXT,"
      " status TEXT NOT NULL DEFAULT 'open',"
      " created_ms INTEGER NOT NULL, resolved_ms INTEGER)",
      "CREATE INDEX conflicts_by_resource ON conflicts (type, id, status)",
      "CREATE TABLE sync_state ("
      " type TEXT NOT NULL, id TEXT NOT NULL,"
      " remote_version TEXT NOT NULL, content_hash TEXT NOT NULL,"
      " local_version INTEGER NOT NULL DEFAULT 0, agreed_ms INTEGER NOT NULL,"
      " PRIMARY KEY (type, id)) WITHOUT ROWID",
      "CREATE TABLE cursors ("
      " parent_node_id TEXT PRIMARY KEY, feed TEXT NOT NULL, position TEXT NOT NULL,"
      " updated_ms INTEGER NOT NULL)",
      "CREATE TABLE audit ("
      " audit_id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, operation TEXT NOT NULL,"
      " type TEXT, id TEXT, local_version INTEGER, remote_version TEXT,"
      " transport TEXT, outcome TEXT NOT NULL, http_status INTEGER, message TEXT,"
      " retry_of INTEGER REFERENCES audit (audit_id))",
      "CREATE INDEX audit_by_time ON audit (at_ms)",
  };
  sql.migrate_to_3 = {
      "DROP INDEX IF EXISTS outbox_by_resource",
      "DROP TABLE IF EXISTS resources",
      // For people reading the file with sqlite3, and for the few whole-store
      // queries (stats): SQLite takes the bare columns from the row with
      // max(version).
      "CREATE VIEW resources AS SELECT type, id, max(version) AS version, seq,"
      " at_ms AS last_updated_ms, deleted, format, content_hash FROM changes"
      " GROUP BY type, id",
  };
  sql.rehash_select =
      "SELECT seq, type, id, version, format, body, content_hash FROM changes"
      " WHERE seq > ? AND deleted = 0 ORDER BY seq LIMIT ?";
  sql.rehash_update_change = "UPDATE changes SET content_hash = ? WHERE seq = ?";
  sql.rehash_update_agreed =
      "UPDATE sync_state SET content_hash = ? WHERE type = ? AND id = ? AND local_version = ?"
      " AND content_hash = ?";
  sql.count_meta_tables =
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'";
  sql.count_tables = "SELECT count(*) FROM sqlite_master WHERE type = 'table'";
  sql.select_meta = "SELECT value FROM meta WHERE key = ?";
  sql.insert_meta = "INSERT INTO meta (key, value) VALUES (?, ?)";

  sql.last_seq = "SELECT coalesce(max(seq), 0) FROM changes";
  sql.insert_change =
      "INSERT INTO changes (seq, type, id, version, action, at_ms, origin, format, deleted,"
      " content_hash, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  sql.insert_change_if_new = sql.insert_change + " ON CONFLICT (type, id, version) DO NOTHING";
  sql.select_current_one =
      "SELECT version, deleted, at_ms, content_hash FROM changes"
      " WHERE type = ? AND id = ? ORDER BY version DESC LIMIT 1";
  sql.insert_outbox =
      "INSERT INTO outbox (seq, type, id, version, state, attempts, next_attempt_ms,"
      " last_http_status, outcome, correlation_id, base_remote_version)"
      " VALUES (?1, ?2, ?3, ?4, 'pending', 0, 0, 0, '', ?5, coalesce("
      "(SELECT remote_version FROM sync_state WHERE type = ?2 AND id = ?3), ''))";

  const std::string resource_columns_of_changes =
      "c.type, c.id, c.version, c.at_ms, c.deleted, c.format, c.content_hash";
  sql.get_current = "SELECT " + resource_columns_of_changes +
                    ", c.body FROM changes c WHERE c.type = ? AND c.id = ?"
                    " ORDER BY c.version DESC LIMIT 1";
  // c is the newest version of its resource (one seek of the index).
  const std::string is_current =
      " c.version = (SELECT max(m.version) FROM changes m WHERE m.type = c.type"
      " AND m.id = c.id)";
  sql.get_version = "SELECT " + resource_columns_of_changes +
                    ", c.body FROM changes c WHERE c.type = ? AND c.id = ? AND c.version = ?";
  sql.history = "SELECT " + resource_columns_of_changes +
                ", c.body FROM changes c WHERE c.type = ? AND c.id = ? ORDER BY c.version DESC";
  sql.changes =
      "SELECT c.seq, c.action, c.origin, " + resource_columns_of_changes +
      ", CASE WHEN ? <> 0 THEN c.body ELSE '' END FROM changes c"
      " WHERE c.seq > ? AND (? = 0 OR c.type IN (SELECT value FROM json_each(?)))"
      " AND c.at_ms >= ? ORDER BY c.seq LIMIT ?";
  // The index walks one type in id order, so ORDER BY id needs no sort and
  // a page stops reading at its LIMIT.
  const std::string search_where =
      " FROM changes c"
      " WHERE c.type = ? AND c.id > ? AND (? = 0 OR c.id IN (SELECT value FROM json_each(?)))"
      " AND" + is_current + " AND c.at_ms >= ? AND c.at_ms < ? AND (? <> 0 OR c.deleted = 0)";
  sql.search = "SELECT " + resource_columns_of_changes + ", c.body" + search_where +
               " ORDER BY c.id LIMIT ? OFFSET ?";
  sql.search_count = "SELECT count(*)" + search_where;
  sql.stats =
      "SELECT type, sum(1 - deleted), sum(deleted) FROM resources GROUP BY type ORDER BY type";
  sql.outbox_pending_count = "SELECT count(*) FROM outbox WHERE state = 'pending'";
  sql.store_size = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";
  sql.pending_outbox =
      "SELECT seq, type, id, version, state FROM outbox WHERE state = 'pending'"
      " ORDER BY seq LIMIT ?";

  // No current pointer to check: the current version is the newest row.
  sql.check_version_gaps =
      "SELECT count(*) FROM (SELECT count(*) AS n, min(version) AS lo, max(version) AS hi"
      " FROM changes GROUP BY type, id) g WHERE g.lo <> 1 OR g.hi <> g.n";
  sql.check_seq_range = "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM changes";
  sql.check_missing_outbox =
      "SELECT count(*) FROM changes c WHERE c.origin = ?"
      " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = c.seq)";
  sql.check_stray_outbox =
      "SELECT count(*) FROM outbox o WHERE NOT EXISTS ("
      " SELECT 1 FROM changes c WHERE c.seq = o.seq AND c.origin = ?"
      " AND c.type = o.type AND c.id = o.id AND c.version = o.version)";
  sql.engine_check = "PRAGMA quick_check";
  sql.pull = &SqlitePullSql();
  return sql;
}

}  // namespace

const StoreSql& SqliteSql() {
  static const StoreSql* const sql = new StoreSql(MakeSqliteSql());
  return *sql;
}

}  // namespace fhirsync::store
