#include "store/sqlite_prepared_reads.h"

#include <Poco/Data/SQLite/Utility.h>
#include <sqlite3.h>

#include <memory>
#include <utility>

#include "store/sqlite_statements.h"

namespace fhirsync::store {
namespace {

// The statements kept with one read connection; finalized before the
// connection closes (ReadSessionPool destroys states first).
class PreparedStatements : public ReadSessionPool::SessionState {
 public:
  explicit PreparedStatements(sqlite3* db) : cache_(db) {}
  SqliteStatementCache& cache() { return cache_; }

 private:
  SqliteStatementCache cache_;
};

SqliteStatementCache& StatementsOf(const ReadSessionPool::Lease& lease) {
  std::unique_ptr<ReadSessionPool::SessionState>& slot = lease.state();
  auto* statements = dynamic_cast<PreparedStatements*>(slot.get());
  if (statements == nullptr) {
    auto made = std::make_unique<PreparedStatements>(
        Poco::Data::SQLite::Utility::dbHandle(lease.session()));
    statements = made.get();
    slot = std::move(made);
  }
  return statements->cache();
}

}  // namespace

std::optional<Resource> SqlitePreparedGet(const ReadSessionPool::Lease& lease,
                                          const std::string& get_current_sql,
                                          const std::string& type, const std::string& id) {
  SqliteStatementCache& statements = StatementsOf(lease);
  sqlite3_stmt* statement = statements.Get(get_current_sql);
  SqliteResetOnExit reset(statement);
  SqliteBindText(statements.db(), statement, 1, type);
  SqliteBindText(statements.db(), statement, 2, id);
  if (!SqliteStep(statements.db(), statement, get_current_sql)) return std::nullopt;
  // The resource columns of store_sql.h.
  Resource resource;
  resource.type = SqliteTextColumn(statement, 0);
  resource.id = SqliteTextColumn(statement, 1);
  resource.version = sqlite3_column_int64(statement, 2);
  resource.last_updated_ms = sqlite3_column_int64(statement, 3);
  resource.deleted = sqlite3_column_int64(statement, 4) != 0;
  // Only the store writes the column, so an unknown name cannot occur.
  resource.format =
      ParseResourceFormat(SqliteTextColumn(statement, 5)).value_or(ResourceFormat::kFhirJson);
  resource.content_hash = SqliteTextColumn(statement, 6);
  resource.body = SqliteTextColumn(statement, 7);
  return resource;
}

std::int64_t SqlitePreparedLastSeq(const ReadSessionPool::Lease& lease,
                                   const std::string& last_seq_sql) {
  SqliteStatementCache& statements = StatementsOf(lease);
  sqlite3_stmt* statement = statements.Get(last_seq_sql);
  SqliteResetOnExit reset(statement);
  if (!SqliteStep(statements.db(), statement, last_seq_sql)) return 0;
  return sqlite3_column_int64(statement, 0);
}

}  // namespace fhirsync::store
