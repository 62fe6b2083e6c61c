// The SQL text one LocalStore backend speaks (internal header).
//
// PocoLocalStore runs the same statements on every backend; only their text
// differs (placeholders, types, JSON functions). Each backend keeps all of
// its SQL in one file that fills one StoreSql: sqlite_sql.cc and
// postgres_sql.cc. No statement is ever built from values: every value is a
// bound parameter, and list filters pass a JSON array as one parameter.
//
// Parameter and column orders are the contract between this struct and
// PocoLocalStore; each field says them.

#ifndef FHIRSYNC_STORE_STORE_SQL_H_
#define FHIRSYNC_STORE_STORE_SQL_H_

#include <string>
#include <vector>

#include "store/pull_sql.h"

namespace fhirsync::store {

// The schema version this build writes; stored in meta('schema_version').
// Version 2 adds the push section's columns (push_sql.h); version 3 is
// SQLite's store without a `resources` table (sqlite_sql.cc); version 4 has
// every content hash recomputed as the canonical hash
// (fhirsync/base/canonical_json.h); version 5 indexes the outbox by state
// (push_sql.h, list_due_outbox).
inline constexpr int kSchemaVersion = 5;

struct PushSql;

struct StoreSql {
  // The push section's statements (push_sql.h) for the same backend.
  const PushSql* push = nullptr;
  // DDL creating every table and index of schema version 1 (the push
  // section migrates it to kSchemaVersion), run in order in
  // one write transaction on an empty database.
  std::vector<std::string> create_schema;
  // () -> count of tables named 'meta' in the current schema.
  std::string count_meta_tables;
  // () -> count of all tables (to tell an empty database from a foreign one).
  std::string count_tables;
  // (key) -> value.
  std::string select_meta;
  // (key, value).
  std::string insert_meta;
  // DDL migrating schema version 2 to 3 (may be empty).
  std::vector<std::string> migrate_to_3;
  // Migrating to version 4 recomputes every stored content hash in code
  // (poco_local_store_rehash.cc):
  // (after_seq, limit) -> seq, type, id, version, format, body, content_hash
  // of the `changes` rows after after_seq that hold a body, in seq order.
  std::string rehash_select;
  // (content_hash, seq).
  std::string rehash_update_change;
  // (new_hash, type, id, local_version, old_hash): the agreed hash of a
  // resource whose agreed version held that content.
  std::string rehash_update_agreed;
  // Run once after: copies of the hash kept elsewhere (may be empty).
  std::vector<std::string> rehash_finish;

  // Write path: per write transaction, a batch of rows at a time (see
  // batch_writer.h).
  // () -> max seq or 0.
  std::string last_seq;
  // The set-wise forms PocoBatchStorage runs (PostgreSQL; empty on SQLite):
  // (JSON array of objects with the keys seq, type, id, version, action,
  //  at_ms, origin, format, deleted, content_hash, body): inserts those
  // `changes` rows with one statement.
  std::string insert_changes_json;
  // (JSON array of [type, id] pairs) -> type, id, version, deleted,
  // last_updated_ms, content_hash of those that exist.
  std::string select_current_many;
  // (first_seq, last_seq): points `resources` at the newest of those
  // changes for each resource they touch (insert or update).
  std::string upsert_resources_from_changes;
  // (JSON array of [seq, correlation_id] pairs): queues each change `seq`,
  // with the remote version last agreed with the parent (sync_state) as its
  // base. One execution per batch.
  std::string insert_outbox_for_changes;
  // The per-row forms SqliteBatchStorage keeps prepared (SQLite; empty on
  // PostgreSQL):
  // (seq, type, id, version, action, at_ms, origin, format, deleted,
  //  content_hash, body): one `changes` row.
  std::string insert_change;
  // The same, inserting nothing (sqlite3_changes() == 0) when the row's
  // (type, id, version) is taken. With version 1 that means the resource
  // exists: versions start at 1 and no version row is ever removed.
  std::string insert_change_if_new;
  // (type, id) -> version, deleted, last_updated_ms, content_hash of the
  // current version, if any.
  std::string select_current_one;
  // (seq, type, id, version, correlation_id): queues change `seq` with the
  // remote version last agreed with the parent (sync_state) as its base.
  std::string insert_outbox;

  // Reads. "Resource columns" are: type, id, version, last_updated_ms,
  // deleted, format, content_hash, body.
  // (type, id) -> resource columns of the current version.
  std::string get_current;
  // (type, id, version) -> resource columns.
  std::string get_version;
  // (type, id) -> resource columns of every version, newest first.
  std::string history;
  // (with_bodies 0/1, after_seq, has_types 0/1, types JSON array, since_ms,
  //  limit) -> seq, action, origin, then resource columns.
  std::string changes;
  // (type, after_id, has_ids 0/1, ids JSON array, from_ms, to_ms,
  //  include_deleted 0/1, limit, offset) -> resource columns ordered by id
  //  (ids after after_id; "" is before every id).
  std::string search;
  // The same first seven parameters -> count.
  std::string search_count;
  // () -> type, live, deleted ordered by type.
  std::string stats;
  // () -> count of pending outbox rows.
  std::string outbox_pending_count;
  // (limit) -> seq, type, id, version, state.
  std::string pending_outbox;
  // () -> the store's size in bytes (see StoreFigures::size_bytes).
  std::string store_size;

  // Integrity checks, each () -> a count of offending rows, except where said.
  // Resources whose version/seq is not the newest change of that resource,
  // or changes without a resources row (empty where there is no pointer).
  std::string check_current_pointer;
  // Resources whose versions are not exactly 1..n.
  std::string check_version_gaps;
  // () -> count, min seq, max seq of changes.
  std::string check_seq_range;
  // (node_id) -> local changes without an outbox row.
  std::string check_missing_outbox;
  // (node_id) -> outbox rows of changes not made here, or of no change, or
  // naming a different type/id/version than their change.
  std::string check_stray_outbox;
  // Optional engine check (SQLite's quick_check) -> rows, "ok" when fine.
  std::string engine_check;

  // The pull, sync-state, conflict and audit statements (pull_sql.h).
  const PullSql* pull = nullptr;
};

const StoreSql& SqliteSql();
const StoreSql& PostgresSql();

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_STORE_SQL_H_
