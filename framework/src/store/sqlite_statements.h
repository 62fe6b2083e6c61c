// Statements kept prepared on one SQLite connection, and the small helpers
// every direct sqlite3 call of the store needs (internal header).
//
// Poco::Data 1.11 prepares a statement again on every execution, which for a
// one-row statement costs more than the database's own work. The store's hot
// paths (the server's reads, the batch writer's rows) therefore keep their
// sqlite3_stmt for the connection's life and only bind, step and reset it.
// Errors are thrown as the Poco::Data::SQLite exception of the result code,
// so the callers' existing Poco exception handling maps them to a Status.
//
// Thread safety: none; a cache belongs to one connection, which one thread
// uses at a time.

#ifndef FHIRSYNC_STORE_SQLITE_STATEMENTS_H_
#define FHIRSYNC_STORE_SQLITE_STATEMENTS_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fhirsync::store {

// The statements kept with one connection, by SQL text. Finalizes them on
// destruction, which must come before the connection closes.
class SqliteStatementCache {
 public:
  explicit SqliteStatementCache(sqlite3* db) : db_(db) {}
  ~SqliteStatementCache();
  SqliteStatementCache(const SqliteStatementCache&) = delete;
  SqliteStatementCache& operator=(const SqliteStatementCache&) = delete;

  sqlite3* db() const { return db_; }

  // `sql` prepared on this connection (on its first use); throws on a
  // preparation error.
  sqlite3_stmt* Get(const std::string& sql);

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// Resets the statement and clears its bindings on every exit: an un-reset
// statement would keep its transaction's snapshot (a read) or hold on to
// bound buffers that are about to die.
class SqliteResetOnExit {
 public:
  explicit SqliteResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~SqliteResetOnExit() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  SqliteResetOnExit(const SqliteResetOnExit&) = delete;
  SqliteResetOnExit& operator=(const SqliteResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

// Binds `text` without copying it: it must outlive the statement's step.
void SqliteBindText(sqlite3* db, sqlite3_stmt* statement, int position, std::string_view text);
void SqliteBindInt64(sqlite3* db, sqlite3_stmt* statement, int position, std::int64_t value);

// Steps once: true for a row, false when done; throws on an error, naming
// `sql`.
bool SqliteStep(sqlite3* db, sqlite3_stmt* statement, const std::string& sql);

// A TEXT (or BLOB) column's bytes, unconverted.
std::string SqliteTextColumn(sqlite3_stmt* statement, int column);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQLITE_STATEMENTS_H_
