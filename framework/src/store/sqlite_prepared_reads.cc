#include "store/sqlite_prepared_reads.h"

#include <Poco/Data/SQLite/Utility.h>
#include <sqlite3.h>

#include <memory>
#include <string_view>
#include <unordered_map>

namespace fhirsync::store {
namespace {

using Poco::Data::SQLite::Utility;

// The statements kept with one read connection, by SQL text; finalized
// before the connection closes (ReadSessionPool destroys states first).
class PreparedStatements : public ReadSessionPool::SessionState {
 public:
  explicit PreparedStatements(sqlite3* db) : db_(db) {}
  ~PreparedStatements() override {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
  }

  sqlite3* db() const { return db_; }

  // `sql` prepared on this connection (on its first use).
  sqlite3_stmt* Statement(const std::string& sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) return found->second;
    sqlite3_stmt* statement = nullptr;
    // PERSISTENT: it is kept for the connection's life, so SQLite allocates
    // it accordingly.
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(statement);
      Utility::throwException(db_, rc, sql);
    }
    statements_.emplace(sql, statement);
    return statement;
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

PreparedStatements& StatementsOf(const ReadSessionPool::Lease& lease) {
  std::unique_ptr<ReadSessionPool::SessionState>& slot = lease.state();
  auto* statements = dynamic_cast<PreparedStatements*>(slot.get());
  if (statements == nullptr) {
    auto made = std::make_unique<PreparedStatements>(Utility::dbHandle(lease.session()));
    statements = made.get();
    slot = std::move(made);
  }
  return *statements;
}

// Ends the statement's run on every exit: an un-reset statement would keep
// its read transaction, and with it an old WAL snapshot, open.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

std::string TextColumn(sqlite3_stmt* statement, int column) {
  // sqlite3_column_blob gives a TEXT value's bytes unconverted.
  const void* data = sqlite3_column_blob(statement, column);
  int size = sqlite3_column_bytes(statement, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

void BindText(sqlite3* db, sqlite3_stmt* statement, int position, std::string_view text) {
  // STATIC: `text` outlives the step (the caller's strings), so SQLite need
  // not copy it.
  int rc = sqlite3_bind_text(statement, position, text.data(), static_cast<int>(text.size()),
                             SQLITE_STATIC);
  if (rc != SQLITE_OK) Utility::throwException(db, rc);
}

// Steps to the first row: true for a row, false for none; throws on error.
bool StepToRow(sqlite3* db, sqlite3_stmt* statement, const std::string& sql) {
  int rc = sqlite3_step(statement);
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) Utility::throwException(db, rc, sql);
  return true;
}

}  // namespace

std::optional<Resource> SqlitePreparedGet(const ReadSessionPool::Lease& lease,
                                          const std::string& get_current_sql,
                                          const std::string& type, const std::string& id) {
  PreparedStatements& statements = StatementsOf(lease);
  sqlite3_stmt* statement = statements.Statement(get_current_sql);
  ResetOnExit reset(statement);
  BindText(statements.db(), statement, 1, type);
  BindText(statements.db(), statement, 2, id);
  if (!StepToRow(statements.db(), statement, get_current_sql)) return std::nullopt;
  // The resource columns of store_sql.h.
  Resource resource;
  resource.type = TextColumn(statement, 0);
  resource.id = TextColumn(statement, 1);
  resource.version = sqlite3_column_int64(statement, 2);
  resource.last_updated_ms = sqlite3_column_int64(statement, 3);
  resource.deleted = sqlite3_column_int64(statement, 4) != 0;
  // Only the store writes the column, so an unknown name cannot occur.
  resource.format =
      ParseResourceFormat(TextColumn(statement, 5)).value_or(ResourceFormat::kFhirJson);
  resource.content_hash = TextColumn(statement, 6);
  resource.body = TextColumn(statement, 7);
  return resource;
}

std::int64_t SqlitePreparedLastSeq(const ReadSessionPool::Lease& lease,
                                   const std::string& last_seq_sql) {
  PreparedStatements& statements = StatementsOf(lease);
  sqlite3_stmt* statement = statements.Statement(last_seq_sql);
  ResetOnExit reset(statement);
  if (!StepToRow(statements.db(), statement, last_seq_sql)) return 0;
  return sqlite3_column_int64(statement, 0);
}

}  // namespace fhirsync::store
