#include "store/sqlite_prepared_get.h"

#include <Poco/Data/SQLite/Utility.h>
#include <sqlite3.h>

#include <memory>
#include <string_view>

namespace fhirsync::store {
namespace {

using Poco::Data::SQLite::Utility;

// The prepared statement kept with one read connection; finalized before
// the connection closes (ReadSessionPool destroys states first).
class PreparedGetState : public ReadSessionPool::SessionState {
 public:
  PreparedGetState(sqlite3* db, const std::string& sql) : db_(db) {
    // PERSISTENT: it is kept for the connection's life, so SQLite allocates
    // it accordingly.
    int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &statement_, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(statement_);
      Utility::throwException(db, rc, sql);
    }
  }
  ~PreparedGetState() override { sqlite3_finalize(statement_); }

  sqlite3* db() const { return db_; }
  sqlite3_stmt* statement() const { return statement_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

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

void BindText(const PreparedGetState& state, int position, std::string_view text) {
  // STATIC: `text` outlives the step (the caller's strings), so SQLite need
  // not copy it.
  int rc = sqlite3_bind_text(state.statement(), position, text.data(),
                             static_cast<int>(text.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK) Utility::throwException(state.db(), rc);
}

}  // namespace

std::optional<Resource> SqlitePreparedGet(const ReadSessionPool::Lease& lease,
                                          const std::string& get_current_sql,
                                          const std::string& type, const std::string& id) {
  std::unique_ptr<ReadSessionPool::SessionState>& slot = lease.state();
  if (dynamic_cast<PreparedGetState*>(slot.get()) == nullptr) {
    slot = std::make_unique<PreparedGetState>(Utility::dbHandle(lease.session()),
                                              get_current_sql);
  }
  const auto& state = static_cast<const PreparedGetState&>(*slot);
  sqlite3_stmt* statement = state.statement();
  ResetOnExit reset(statement);
  BindText(state, 1, type);
  BindText(state, 2, id);
  int rc = sqlite3_step(statement);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) Utility::throwException(state.db(), rc, get_current_sql);
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

}  // namespace fhirsync::store
