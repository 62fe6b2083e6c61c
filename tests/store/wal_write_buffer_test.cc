// The VFS that gathers WAL writes (store/wal_write_buffer.h): what reaches
// the file is what SQLite wrote, in fewer calls, and every commit is in the
// file, for other connections and after a crash, when it returns.

#include "store/wal_write_buffer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "store_test_support.h"

namespace fhirsync::store {
namespace {

namespace fs = std::filesystem;
using ::fhirsync::testing::ScratchDir;

// A VFS over the default one that counts the write calls reaching WAL files.
std::atomic<long> wal_write_calls{0};
std::atomic<long> wal_write_bytes{0};

struct CountingFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool wal;
};
sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<CountingFile*>(f)->real; }

int CountingWrite(sqlite3_file* f, const void* data, int size, sqlite3_int64 offset) {
  if (reinterpret_cast<CountingFile*>(f)->wal) {
    ++wal_write_calls;
    wal_write_bytes += size;
  }
  return Real(f)->pMethods->xWrite(Real(f), data, size, offset);
}

const sqlite3_io_methods kCountingMethods = {
    2,
    [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); },
    [](sqlite3_file* f, void* out, int n, sqlite3_int64 o) {
      return Real(f)->pMethods->xRead(Real(f), out, n, o);
    },
    CountingWrite,
    [](sqlite3_file* f, sqlite3_int64 n) { return Real(f)->pMethods->xTruncate(Real(f), n); },
    [](sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); },
    [](sqlite3_file* f, sqlite3_int64* n) { return Real(f)->pMethods->xFileSize(Real(f), n); },
    [](sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); },
    [](sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); },
    [](sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); },
    [](sqlite3_file* f, int op, void* arg) {
      return Real(f)->pMethods->xFileControl(Real(f), op, arg);
    },
    [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
    [](sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); },
    [](sqlite3_file* f, int r, int s, int e, void volatile** out) {
      return Real(f)->pMethods->xShmMap(Real(f), r, s, e, out);
    },
    [](sqlite3_file* f, int o, int n, int flags) {
      return Real(f)->pMethods->xShmLock(Real(f), o, n, flags);
    },
    [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); },
    [](sqlite3_file* f, int remove) { return Real(f)->pMethods->xShmUnmap(Real(f), remove); },
    nullptr,
    nullptr,
};

sqlite3_vfs* CountingVfs() {
  static sqlite3_vfs* const vfs = [] {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    auto* counting = new sqlite3_vfs(*base);
    counting->iVersion = 2;
    counting->zName = "fhirsync-test-counting";
    counting->szOsFile = static_cast<int>(sizeof(CountingFile)) + base->szOsFile;
    counting->pAppData = base;
    counting->xOpen = [](sqlite3_vfs* self, const char* name, sqlite3_file* file, int flags,
                         int* out_flags) {
      auto* wrapped = reinterpret_cast<CountingFile*>(file);
      wrapped->base.pMethods = nullptr;
      wrapped->real = reinterpret_cast<sqlite3_file*>(wrapped + 1);
      wrapped->wal = (flags & SQLITE_OPEN_WAL) != 0;
      auto* base_vfs = static_cast<sqlite3_vfs*>(self->pAppData);
      const int rc = base_vfs->xOpen(base_vfs, name, wrapped->real, flags, out_flags);
      if (rc == SQLITE_OK) wrapped->base.pMethods = &kCountingMethods;
      return rc;
    };
    sqlite3_vfs_register(counting, 0);
    return counting;
  }();
  return vfs;
}

// The buffering VFS over the counting one.
const char* BufferedOverCounting() {
  static const char* const name =
      RegisterWalWriteBufferVfsOver(CountingVfs(), "fhirsync-test-buffer-over-counting");
  return name;
}

class WalWriteBufferTest : public ::testing::Test {
 protected:
  sqlite3* Open(const std::string& vfs) {
    sqlite3* db = nullptr;
    const std::string uri = "file:" + path_ + (vfs.empty() ? "" : "?vfs=" + vfs);
    EXPECT_EQ(sqlite3_open_v2(uri.c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                              nullptr),
              SQLITE_OK);
    Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             " PRAGMA wal_autocheckpoint = 0");
    return db;
  }
  static void Exec(sqlite3* db, const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
  }
  static long Count(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
    const long n = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    return n;
  }
  static long IntegrityProblems(sqlite3* db) {
    return Count(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'");
  }
  // `rows` rows of about 2 KB each (half a page) in one transaction.
  static void InsertRows(sqlite3* db, int first, int rows) {
    Exec(db, "BEGIN; " + InsertSql(first, rows, 'x') + "; COMMIT");
  }
  static std::string InsertSql(int first, int rows, char fill) {
    return "WITH RECURSIVE s(value) AS (SELECT " + std::to_string(first) +
           " UNION ALL SELECT value + 1 FROM s WHERE value < " +
           std::to_string(first + rows - 1) +
           ") INSERT INTO t (k, v) SELECT value, printf('%.2000c', '" + std::string(1, fill) +
           "') FROM s";
  }

  ScratchDir dir_;
  std::string path_ = dir_.path() + "/t.sqlite";
};

TEST_F(WalWriteBufferTest, GathersFrameWritesIntoFewCalls) {
  BufferedOverCounting();
  long calls[2] = {0, 0};
  long bytes[2] = {0, 0};
  int i = 0;
  for (const std::string& vfs : {std::string("fhirsync-test-counting"),
                                 std::string(BufferedOverCounting())}) {
    fs::remove_all(dir_.path());
    fs::create_directories(dir_.path());
    sqlite3* db = Open(vfs);
    Exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    wal_write_calls = 0;
    wal_write_bytes = 0;
    InsertRows(db, 1, 2000);
    calls[i] = wal_write_calls;
    bytes[i] = wal_write_bytes;
    sqlite3_close(db);
    ++i;
  }
  // Without the buffer: two calls a frame (over 1,000 frames).
  EXPECT_GT(calls[0], 2000);
  // With it: the same bytes in calls of up to kWalBufferBytes.
  EXPECT_EQ(bytes[1], bytes[0]);
  EXPECT_LE(calls[1], bytes[1] / static_cast<long>(kWalBufferBytes) + 4);
}

TEST_F(WalWriteBufferTest, EachCommitIsInTheFileForOtherConnections) {
  sqlite3* writer = Open(RegisterWalWriteBufferVfs());
  Exec(writer, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  sqlite3* reader = Open("");
  for (int round = 0; round < 5; ++round) {
    InsertRows(writer, round * 300 + 1, 300);
    EXPECT_EQ(Count(reader, "SELECT count(*) FROM t"), (round + 1) * 300L);
    // A checkpoint from the reader's connection copies what the writer wrote.
    int log = -1, copied = -1;
    EXPECT_EQ(
        sqlite3_wal_checkpoint_v2(reader, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied),
        SQLITE_OK);
    EXPECT_EQ(log, copied);
  }
  EXPECT_EQ(IntegrityProblems(reader), 0);
  sqlite3_close(reader);
  sqlite3_close(writer);
}

TEST_F(WalWriteBufferTest, SpilledPagesAreReadBackAndRolledBack) {
  sqlite3* db = Open(RegisterWalWriteBufferVfs());
  // A cache of 10 pages: a large transaction writes pages into the WAL
  // before its commit, and reads them back from there.
  Exec(db, "PRAGMA cache_size = 10; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  InsertRows(db, 1, 500);
  Exec(db, "BEGIN; " + InsertSql(501, 1000, 'y'));
  EXPECT_EQ(Count(db, "SELECT count(*) FROM t WHERE v LIKE 'y%'"), 1000);
  EXPECT_EQ(Count(db, "SELECT sum(length(v)) FROM t"), 1500L * 2000);
  Exec(db, "ROLLBACK");
  EXPECT_EQ(Count(db, "SELECT count(*) FROM t"), 500);
  InsertRows(db, 501, 700);
  sqlite3_close(db);

  sqlite3* again = Open("");
  EXPECT_EQ(Count(again, "SELECT count(*) FROM t"), 1200);
  EXPECT_EQ(Count(again, "SELECT count(*) FROM t WHERE v LIKE 'y%'"), 0);
  EXPECT_EQ(IntegrityProblems(again), 0);
  sqlite3_close(again);
}

// Pages a rolled-back transaction had spilled into the WAL must not be
// written after another writer has put its own frames in their place.
TEST_F(WalWriteBufferTest, ARolledBackSpillNeverLandsOnAnotherWritersFrames) {
  sqlite3* first = Open(RegisterWalWriteBufferVfs());
  Exec(first, "PRAGMA cache_size = 10; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  Exec(first, "BEGIN; " + InsertSql(1, 1000, 'r'));
  Exec(first, "ROLLBACK");
  // More than the rollback spilled, so its frames cover the same stretch.
  sqlite3* second = Open(RegisterWalWriteBufferVfs());
  InsertRows(second, 1, 1500);
  sqlite3_close(second);
  EXPECT_EQ(Count(first, "SELECT count(*) FROM t"), 1500);
  sqlite3_close(first);

  sqlite3* check = Open("");
  EXPECT_EQ(Count(check, "SELECT count(*) FROM t"), 1500);
  EXPECT_EQ(Count(check, "SELECT count(*) FROM t WHERE v LIKE 'r%'"), 0);
  EXPECT_EQ(IntegrityProblems(check), 0);
  sqlite3_close(check);
}

// Runs `work` in a child process that then kills itself with SIGKILL.
template <typename Work>
void InAKilledChild(Work work) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    work();
    kill(getpid(), SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
}

TEST_F(WalWriteBufferTest, AProcessKilledRightAfterACommitKeepsIt) {
  {
    sqlite3* db = Open("");
    Exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    sqlite3_close(db);
  }
  // Killed as COMMIT returns: nothing may be left in the buffer.
  InAKilledChild([&] { InsertRows(Open(RegisterWalWriteBufferVfs()), 1, 800); });
  // Killed in a transaction that has spilled into the WAL: it is not kept.
  InAKilledChild([&] {
    sqlite3* db = Open(RegisterWalWriteBufferVfs());
    const std::string spill = "PRAGMA cache_size = 10; BEGIN; " + InsertSql(801, 800, 'z');
    sqlite3_exec(db, spill.c_str(), nullptr, nullptr, nullptr);
  });
  sqlite3* db = Open("");
  EXPECT_EQ(Count(db, "SELECT count(*) FROM t"), 800);
  EXPECT_EQ(IntegrityProblems(db), 0);
  sqlite3_close(db);
}

TEST(WalWriteBufferUriTest, NamesTheFileWhateverItsCharacters) {
  ScratchDir dir;
  const std::string path = dir.path() + "/odd ?#%25 name.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(WalWriteBufferUri(path).c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  char* vfs_names = nullptr;
  ASSERT_EQ(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &vfs_names), SQLITE_OK);
  EXPECT_EQ(std::string(vfs_names), std::string(RegisterWalWriteBufferVfs()) + "/unix");
  sqlite3_free(vfs_names);
  sqlite3_close(db);
  EXPECT_TRUE(fs::exists(path));
}

}  // namespace
}  // namespace fhirsync::store
