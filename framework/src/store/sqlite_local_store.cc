#include "store/sqlite_local_store.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>

#include <memory>
#include <mutex>
#include <utility>

#include "fhirsync/private_file.h"
#include "fhirsync/base/text_util.h"
#include "store/poco_local_store.h"
#include "store/sqlite_batch_storage.h"
#include "store/sqlite_prepared_reads.h"
#include "store/store_sql.h"
#include "store/wal_checkpointer.h"
#include "store/wal_write_buffer.h"

namespace fhirsync::store {
namespace {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

// How long a writer waits for another process's write transaction.
constexpr int kBusyTimeoutMs = 30000;

// Page cache per connection, in KiB (see ConfigureConnection).
constexpr int kPageCacheKib = 8 * 1024;

void RegisterSqliteConnector() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

// Per-connection settings. journal_mode is a property of the file;
// synchronous, busy_timeout and foreign_keys are per connection.
void ConfigureConnection(Poco::Data::Session& session, bool set_wal) {
  if (set_wal) {
    std::string mode;
    session << "PRAGMA journal_mode = WAL", into(mode), now;
  }
  // FULL: a commit returns once the WAL is synced. The write connection's
  // VFS (wal_write_buffer.h) relies on it.
  session << "PRAGMA synchronous = FULL", now;
  session << "PRAGMA busy_timeout = " + std::to_string(kBusyTimeoutMs), now;
  session << "PRAGMA foreign_keys = ON", now;
  // The page cache keeps every page a connection touched until it is full,
  // so its size, not the work, sets a long-running node's memory: at 64 MiB
  // a pull of 59,450 resources peaked at 2.4 times the memory of a pull of
  // 5,945, although each page of the pull is the same size. 8 MiB
  // per connection holds the hot index pages; imports and pulls ran no
  // slower than with 64 MiB, and the OS file cache still holds the rest.
  session << "PRAGMA cache_size = " + std::to_string(-kPageCacheKib), now;
  // No checkpoint at commit: on the write connection WalCheckpointer
  // (wal_checkpointer.h) replaces SQLite's, and the read connections never
  // commit a write. The WAL file keeps its size after a checkpoint;
  // journal_size_limit trims it back to 32 MiB.
  session << "PRAGMA journal_size_limit = 33554432", now;
}

Status TranslateSqliteException(const Poco::Exception& error, const std::string& what,
                                       const std::string& path) {
  const std::string text = what + " failed on SQLite store '" + EscapeForMessage(path, 200) +
                           "': " + error.displayText();
  if (dynamic_cast<const Poco::Data::SQLite::DBLockedException*>(&error) ||
      dynamic_cast<const Poco::Data::SQLite::TableLockedException*>(&error)) {
    return UnavailableError(text + " (another process holds the write lock)");
  }
  if (dynamic_cast<const Poco::Data::SQLite::CorruptImageException*>(&error) ||
      error.displayText().find("not a database") != std::string::npos) {
    return DataLossError(text);
  }
  if (dynamic_cast<const Poco::Data::SQLite::CantOpenDBFileException*>(&error) ||
      dynamic_cast<const Poco::Data::SQLite::DBAccessDeniedException*>(&error) ||
      dynamic_cast<const Poco::Data::SQLite::ReadOnlyException*>(&error)) {
    return InvalidArgumentError(text);
  }
  if (dynamic_cast<const Poco::Data::SQLite::DatabaseFullException*>(&error)) {
    return ResourceExhaustedError(text);
  }
  if (dynamic_cast<const Poco::Data::SQLite::IOErrorException*>(&error)) {
    return UnavailableError(text);
  }
  return InternalError(text);
}

class SqliteLocalStore final : public PocoLocalStore {
 public:
  SqliteLocalStore(Poco::Data::Session write_session, ReadSessionPool::Factory read_sessions,
                   std::size_t max_body_bytes, std::string path)
      : PocoLocalStore(SqliteSql(), write_session, std::move(read_sessions), max_body_bytes),
        path_(std::move(path)),
        write_db_(Poco::Data::SQLite::Utility::dbHandle(write_session)),
        checkpointer_(std::make_unique<WalCheckpointer>(path_)) {
    checkpointer_->Install(write_db_);
  }
  ~SqliteLocalStore() override {
    // Before the write connection closes (in the base class), which must be
    // the last one so that it folds the WAL into the file and removes it.
    sqlite3_wal_hook(write_db_, nullptr, nullptr);
    checkpointer_.reset();
  }

  Status Open(const std::string& node_id) {
    return Initialize(node_id, "SQLite store '" + EscapeForMessage(path_, 200) + "'");
  }

 protected:
  void BeginWrite(Poco::Data::Session& session) override {
    // IMMEDIATE takes the write lock now, not at the first write, so two
    // writers never both read max(seq) and then collide.
    session << "BEGIN IMMEDIATE", now;
  }
  void CommitWrite(Poco::Data::Session& session) override { session << "COMMIT", now; }
  std::optional<Resource> ReadCurrent(const ReadSessionPool::Lease& lease,
                                      const std::string& type,
                                      const std::string& id) override {
    return SqlitePreparedGet(lease, SqliteSql().get_current, type, id);
  }
  std::int64_t ReadLastSeqOn(const ReadSessionPool::Lease& lease) override {
    return SqlitePreparedLastSeq(lease, SqliteSql().last_seq);
  }
  void RollbackWrite(Poco::Data::Session& session) override { session << "ROLLBACK", now; }
  BatchStorage& WriteStorage(Poco::Data::Session& write_session) override {
    if (batch_storage_ == nullptr) {
      batch_storage_ = std::make_unique<SqliteBatchStorage>(
          Poco::Data::SQLite::Utility::dbHandle(write_session), SqliteSql());
    }
    return *batch_storage_;
  }

  Status TranslateException(const Poco::Exception& error,
                            const std::string& what) const override {
    return TranslateSqliteException(error, what, path_);
  }

 private:
  std::string path_;
  sqlite3* write_db_;  // the write session's handle
  std::unique_ptr<WalCheckpointer> checkpointer_;
  // Made on the first write; destroyed (its statements finalized) before the
  // base class closes the write session.
  std::unique_ptr<SqliteBatchStorage> batch_storage_;
};

}  // namespace

StatusOr<std::unique_ptr<LocalStore>> OpenSqliteLocalStore(const std::string& path,
                                                           const std::string& node_id,
                                                           std::size_t max_body_bytes) {
  RegisterSqliteConnector();
  // The store holds patient data: a new one is made owner-only before
  // SQLite opens it (SQLite would create it 0644 under the usual umask).
  if (path != ":memory:" && path.rfind("file:", 0) != 0) {
    FHIRSYNC_RETURN_IF_ERROR(CreatePrivateFileIfAbsent(path));
  }
  std::unique_ptr<SqliteLocalStore> store;
  try {
    // Through the VFS that gathers WAL writes (wal_write_buffer.h), which
    // relies on the synchronous = FULL that ConfigureConnection sets.
    Poco::Data::Session write_session(Poco::Data::SQLite::Connector::KEY,
                                      WalWriteBufferUri(path));
    ConfigureConnection(write_session, /*set_wal=*/true);
    auto read_sessions = [path] {
      Poco::Data::Session read_session(Poco::Data::SQLite::Connector::KEY, path);
      ConfigureConnection(read_session, /*set_wal=*/false);
      return read_session;
    };
    store = std::make_unique<SqliteLocalStore>(std::move(write_session), read_sessions,
                                               max_body_bytes, path);
  } catch (const Poco::Exception& error) {
    return TranslateSqliteException(error, "open", path);
  }
  FHIRSYNC_RETURN_IF_ERROR(store->Open(node_id));
  return std::unique_ptr<LocalStore>(std::move(store));
}

}  // namespace fhirsync::store
