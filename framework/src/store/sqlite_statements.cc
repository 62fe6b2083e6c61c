#include "store/sqlite_statements.h"

#include <Poco/Data/SQLite/Utility.h>

namespace fhirsync::store {

using Poco::Data::SQLite::Utility;

SqliteStatementCache::~SqliteStatementCache() {
  for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
}

sqlite3_stmt* SqliteStatementCache::Get(const std::string& sql) {
  auto found = statements_.find(sql);
  if (found != statements_.end()) return found->second;
  sqlite3_stmt* statement = nullptr;
  // PERSISTENT: it is kept for the connection's life, so SQLite allocates it
  // accordingly.
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                              SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(statement);
    Utility::throwException(db_, rc, sql);
  }
  statements_.emplace(sql, statement);
  return statement;
}

void SqliteBindText(sqlite3* db, sqlite3_stmt* statement, int position, std::string_view text) {
  // An empty view may have no data pointer, which SQLite would bind as NULL.
  int rc = sqlite3_bind_text(statement, position, text.empty() ? "" : text.data(),
                             static_cast<int>(text.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK) Utility::throwException(db, rc);
}

void SqliteBindInt64(sqlite3* db, sqlite3_stmt* statement, int position, std::int64_t value) {
  int rc = sqlite3_bind_int64(statement, position, value);
  if (rc != SQLITE_OK) Utility::throwException(db, rc);
}

bool SqliteStep(sqlite3* db, sqlite3_stmt* statement, const std::string& sql) {
  int rc = sqlite3_step(statement);
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) Utility::throwException(db, rc, sql);
  return true;
}

std::string SqliteTextColumn(sqlite3_stmt* statement, int column) {
  // sqlite3_column_blob gives a TEXT value's bytes unconverted.
  const void* data = sqlite3_column_blob(statement, column);
  int size = sqlite3_column_bytes(statement, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace fhirsync::store
