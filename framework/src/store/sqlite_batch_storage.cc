#include "store/sqlite_batch_storage.h"

#include <string>

#include "fhirsync/local_store.h"
#include "fhirsync/resource.h"

namespace fhirsync::store {

void SqliteBatchStorage::LoadCurrent(std::span<const ResourceKey> keys,
                                     CurrentVersions& current) {
  sqlite3* db = statements_.db();
  sqlite3_stmt* select = statements_.Get(sql_.select_current_one);
  for (const ResourceKey& key : keys) {
    SqliteResetOnExit reset(select);
    SqliteBindText(db, select, 1, key.first);
    SqliteBindText(db, select, 2, key.second);
    if (!SqliteStep(db, select, sql_.select_current_one)) continue;
    CurrentVersion one;
    one.version = sqlite3_column_int64(select, 0);
    one.deleted = sqlite3_column_int64(select, 1) != 0;
    one.last_updated_ms = sqlite3_column_int64(select, 2);
    one.content_hash = SqliteTextColumn(select, 3);
    current.emplace(key, std::move(one));
  }
}

void SqliteBatchStorage::Add(const NewVersion& version) {
  InsertChange(version, sql_.insert_change);
  if (version.queue_outbox) InsertOutbox(version);
}

bool SqliteBatchStorage::AddIfNew(const NewVersion& version) {
  if (!InsertChange(version, sql_.insert_change_if_new)) return false;
  if (version.queue_outbox) InsertOutbox(version);
  return true;
}

bool SqliteBatchStorage::InsertChange(const NewVersion& version, const std::string& sql) {
  sqlite3* db = statements_.db();
  sqlite3_stmt* change = statements_.Get(sql);
  SqliteResetOnExit reset(change);
  SqliteBindInt64(db, change, 1, version.seq);
  SqliteBindText(db, change, 2, version.type);
  SqliteBindText(db, change, 3, version.id);
  SqliteBindInt64(db, change, 4, version.version);
  SqliteBindText(db, change, 5, ChangeActionName(version.action));
  SqliteBindInt64(db, change, 6, version.at_ms);
  SqliteBindText(db, change, 7, version.origin);
  SqliteBindText(db, change, 8, ResourceFormatName(version.format));
  SqliteBindInt64(db, change, 9, version.deleted ? 1 : 0);
  SqliteBindText(db, change, 10, version.content_hash);
  SqliteBindText(db, change, 11, version.body);
  SqliteStep(db, change, sql);
  return sqlite3_changes(db) > 0;
}

void SqliteBatchStorage::InsertOutbox(const NewVersion& version) {
  sqlite3* db = statements_.db();
  sqlite3_stmt* outbox = statements_.Get(sql_.insert_outbox);
  SqliteResetOnExit reset(outbox);
  SqliteBindInt64(db, outbox, 1, version.seq);
  SqliteBindText(db, outbox, 2, version.type);
  SqliteBindText(db, outbox, 3, version.id);
  SqliteBindInt64(db, outbox, 4, version.version);
  SqliteBindText(db, outbox, 5, version.correlation_id);
  SqliteStep(db, outbox, sql_.insert_outbox);
}

}  // namespace fhirsync::store
