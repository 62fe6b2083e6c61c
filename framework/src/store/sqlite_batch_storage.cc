#include "store/sqlite_batch_storage.h"

#include <string>

namespace fhirsync::store {

void SqliteBatchStorage::LoadCurrent(const std::vector<ResourceKey>& keys,
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

void SqliteBatchStorage::WriteRows(ChangeRows& rows) {
  sqlite3* db = statements_.db();
  sqlite3_stmt* change = statements_.Get(sql_.insert_change);
  sqlite3_stmt* outbox = statements_.Get(sql_.insert_outbox);
  std::size_t next_outbox = 0;
  for (std::size_t i = 0; i < rows.seq.size(); ++i) {
    {
      SqliteResetOnExit reset(change);
      SqliteBindInt64(db, change, 1, rows.seq[i]);
      SqliteBindText(db, change, 2, rows.type[i]);
      SqliteBindText(db, change, 3, rows.id[i]);
      SqliteBindInt64(db, change, 4, rows.version[i]);
      SqliteBindText(db, change, 5, rows.action[i]);
      SqliteBindInt64(db, change, 6, rows.at_ms[i]);
      SqliteBindText(db, change, 7, rows.origin[i]);
      SqliteBindText(db, change, 8, rows.format[i]);
      SqliteBindInt64(db, change, 9, rows.deleted[i]);
      SqliteBindText(db, change, 10, rows.content_hash[i]);
      SqliteBindText(db, change, 11, rows.body[i]);
      SqliteStep(db, change, sql_.insert_change);
    }
    if (next_outbox < rows.outbox_row.size() && rows.outbox_row[next_outbox] == i) {
      SqliteResetOnExit reset(outbox);
      SqliteBindInt64(db, outbox, 1, rows.seq[i]);
      SqliteBindText(db, outbox, 2, rows.type[i]);
      SqliteBindText(db, outbox, 3, rows.id[i]);
      SqliteBindInt64(db, outbox, 4, rows.version[i]);
      SqliteBindText(db, outbox, 5, rows.outbox_correlation_id[next_outbox]);
      SqliteStep(db, outbox, sql_.insert_outbox);
      ++next_outbox;
    }
  }
}

}  // namespace fhirsync::store
