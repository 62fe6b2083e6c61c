// What only one backend has: SQLite files and their failure modes,
// PostgreSQL shared by several store objects (as several processes would).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "fhirsync/local_store.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

WriteOp Put(const std::string& id, const std::string& family) {
  WriteOp op;
  op.type = "Patient";
  op.id = id;
  op.body = R"({"resourceType":"Patient","name":[{"family":")" + family + R"("}]})";
  return op;
}

StoreConfig SqliteConfig(const std::string& path) {
  StoreConfig config;
  config.backend = "sqlite";
  config.path = path;
  return config;
}

void ExecSql(const std::string& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

TEST(SqliteStoreTest, RelativePathIsResolvedAgainstTheNodeFolder) {
  testing::ScratchDir dir;
  auto store = OpenLocalStore(SqliteConfig("data.sqlite"), dir.path(), "n1");
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir.path()) / "data.sqlite"));
}

// The write connection opens the file by a URI (to choose its VFS): a path
// with URI syntax in it still names that file.
TEST(SqliteStoreTest, PathWithUriCharactersNamesThatFile) {
  testing::ScratchDir dir;
  const std::string path = dir.path() + "/a ?b=c#d%41 .sqlite";
  {
    auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Put(Put("p1", "x")).ok());
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(names, ElementsAre("a ?b=c#d%41 .sqlite"));
  auto reopened = OpenLocalStore(SqliteConfig(path), "", "n1");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->Get("Patient", "p1").ok());
}

TEST(SqliteStoreTest, MissingFolderIsInvalidArgument) {
  testing::ScratchDir dir;
  auto store = OpenLocalStore(SqliteConfig("no/such/dir/s.sqlite"), dir.path(), "n1");
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), AllOf(HasSubstr("store.path"), HasSubstr("does not exist")));
}

TEST(SqliteStoreTest, UnknownBackendIsInvalidArgument) {
  StoreConfig config;
  config.backend = "mongodb";
  auto store = OpenLocalStore(config, "/tmp", "n1");
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("store.backend 'mongodb'"), HasSubstr("sqlite or postgresql")));
}

TEST(SqliteStoreTest, FileThatIsNotADatabaseIsDataLoss) {
  testing::ScratchDir dir;
  std::string path = dir.path() + "/store.sqlite";
  std::ofstream(path) << std::string(4096, 'x');
  auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr("not a database"));
}

TEST(SqliteStoreTest, ForeignDatabaseIsDataLossAndUntouched) {
  testing::ScratchDir dir;
  std::string path = dir.path() + "/other.sqlite";
  ExecSql(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)");
  auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("is not a fhirsync store"), HasSubstr("no meta table")));
  // Nothing of ours was created in it.
  ExecSql(path, "SELECT count(*) FROM accounts");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type='table'", -1,
                               &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, NewerSchemaIsRefused) {
  testing::ScratchDir dir;
  std::string path = dir.path() + "/s.sqlite";
  { ASSERT_TRUE(OpenLocalStore(SqliteConfig(path), "", "n1").ok()); }
  ExecSql(path, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 99"));
}

TEST(SqliteStoreTest, EmptyNodeIdTakesTheRecordedOne) {
  testing::ScratchDir dir;
  std::string path = dir.path() + "/s.sqlite";
  EXPECT_EQ(OpenLocalStore(SqliteConfig(path), "", "").status().code(),
            StatusCode::kInvalidArgument);
  { ASSERT_TRUE(OpenLocalStore(SqliteConfig(path), "", "n1").ok()); }
  auto store = OpenLocalStore(SqliteConfig(path), "", "");
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Put(Put("p", "x")).ok());
  auto changes = (*store)->Changes(ChangeQuery{});
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].origin, "n1");
}

TEST(SqliteStoreTest, IntegrityCheckNamesWhatIsBroken) {
  testing::ScratchDir dir;
  std::string path = dir.path() + "/s.sqlite";
  {
    auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Put(Put("a", "x")).ok());
    ASSERT_TRUE((*store)->Put(Put("a", "y")).ok());
    ASSERT_TRUE((*store)->Put(Put("b", "z")).ok());
    ASSERT_TRUE((*store)->CheckIntegrity().ok());
  }
  ExecSql(path, "PRAGMA foreign_keys=OFF; DELETE FROM outbox WHERE seq = 3;"
                " DELETE FROM changes WHERE seq = 2;");
  auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
  ASSERT_TRUE(store.ok()) << store.status();
  Status status = (*store)->CheckIntegrity();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("seqs are not dense"), HasSubstr("1 local changes have no outbox row"),
                    HasSubstr("1 outbox rows belong to no local change")));
}

TEST(SqliteStoreTest, TwoStoreObjectsOnOneFileKeepSeqsDense) {
  testing::ScratchDir dir;
  std::string path = dir.path() + "/s.sqlite";
  auto first = OpenLocalStore(SqliteConfig(path), "", "n1");
  auto second = OpenLocalStore(SqliteConfig(path), "", "n1");
  ASSERT_TRUE(first.ok() && second.ok());
  std::vector<std::thread> threads;
  for (LocalStore* store : {first->get(), second->get()}) {
    threads.emplace_back([store] {
      for (int i = 0; i < 30; ++i) {
        EXPECT_TRUE(store->Put(Put("", "x" + std::to_string(i))).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(*(*first)->LastSeq(), 60);
  EXPECT_TRUE((*first)->CheckIntegrity().ok());
}

// The WAL is copied into the database file on a thread of the store's own
// (store/wal_checkpointer.h), while the store is open and being written:
// the file grows during the import, the WAL is started over again and
// again, and after close the file alone holds everything.
// SQLite's own checkpoint at commit (the store's earlier setting: at 8192
// pages) would have left all of this import's 12 MB in the WAL.
TEST(SqliteStoreTest, ImportIsCopiedIntoTheFileWhileTheStoreIsOpen) {
  testing::ScratchDir dir;
  const std::string path = dir.path() + "/s.sqlite";
  const std::string wal = path + "-wal";
  const std::string padding(2000, 'x');
  std::vector<WriteOp> ops;
  for (int i = 0; i < 6000; ++i) ops.push_back(Put("p" + std::to_string(i), padding));
  {
    auto store = OpenLocalStore(SqliteConfig(path), "", "n1");
    ASSERT_TRUE(store.ok()) << store.status();
    auto summary = (*store)->Import(ops, {}, 500);
    ASSERT_TRUE(summary.ok()) << summary.status();
    ASSERT_EQ(summary->written, 6000);
    // The last background checkpoint may still be running.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (testing::FileSizeOrZero(path) < 8'000'000 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(testing::FileSizeOrZero(path), 8'000'000u) << "the WAL was not copied while open";
    // The WAL starts over at a write after a checkpoint that copied all of
    // it; the import's own writes may all have come before that.
    int extra = 0;
    while (testing::WalRestarts(wal) == 0 && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE((*store)->Put(Put("extra" + std::to_string(extra++), "z")).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(testing::WalRestarts(wal), 1u) << "the WAL was never started over";
    EXPECT_TRUE((*store)->CheckIntegrity().ok());
  }
  EXPECT_EQ(testing::FileSizeOrZero(wal), 0u);  // removed (or emptied) at close
  auto reopened = OpenLocalStore(SqliteConfig(path), "", "n1");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_GE(*(*reopened)->LastSeq(), 6000);
  auto last = (*reopened)->Get("Patient", "p5999");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(last->body, HasSubstr(padding));
  EXPECT_TRUE((*reopened)->CheckIntegrity().ok());
}

// Writers in two store objects (as in two processes) each run their own
// background checkpoints; they take turns and every write stays.
TEST(SqliteStoreTest, TwoStoresCheckpointingOneFileLoseNothing) {
  testing::ScratchDir dir;
  const std::string path = dir.path() + "/s.sqlite";
  auto first = OpenLocalStore(SqliteConfig(path), "", "n1");
  auto second = OpenLocalStore(SqliteConfig(path), "", "n1");
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string padding(1500, 'y');
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    LocalStore* store = t == 0 ? first->get() : second->get();
    threads.emplace_back([store, t, &padding] {
      std::vector<WriteOp> ops;
      for (int i = 0; i < 3000; ++i) {
        ops.push_back(Put("t" + std::to_string(t) + "-" + std::to_string(i), padding));
      }
      auto summary = store->Import(ops, {}, 100);
      EXPECT_TRUE(summary.ok()) << summary.status();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(*(*first)->LastSeq(), 6000);
  EXPECT_TRUE((*first)->Get("Patient", "t1-2999").ok());
  EXPECT_TRUE((*second)->Get("Patient", "t0-2999").ok());
  EXPECT_TRUE((*first)->CheckIntegrity().ok());
}

TEST(PostgresStoreTest, TwoStoreObjectsOnOneDatabaseKeepSeqsDense) {
  testing::PostgresSchema schema;
  StoreConfig config;
  config.backend = "postgresql";
  config.connection = schema.connection();
  auto first = OpenLocalStore(config, "", "n1");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = OpenLocalStore(config, "", "n1");
  ASSERT_TRUE(second.ok()) << second.status();
  std::vector<std::thread> threads;
  int writer = 0;
  for (LocalStore* store : {first->get(), second->get()}) {
    for (int t = 0; t < 2; ++t, ++writer) {
      threads.emplace_back([store, writer] {
        for (int i = 0; i < 25; ++i) {
          // Both objects also update the same resource (never with the same
          // content, which would be a no-op).
          std::string id = i % 2 ? "shared" : "";
          auto result = store->Put(Put(id, std::to_string(writer) + "-" + std::to_string(i)));
          EXPECT_TRUE(result.ok() && result->changed) << result.status();
        }
      });
    }
  }
  for (auto& thread : threads) thread.join();
  ChangeQuery all;
  all.limit = 1000;
  auto changes = (*second)->Changes(all);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), 100u);
  for (std::size_t i = 0; i < changes->size(); ++i) {
    ASSERT_EQ((*changes)[i].seq, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_TRUE((*first)->CheckIntegrity().ok());
}

TEST(PostgresStoreTest, UnreachableServerIsUnavailable) {
  testing::ScratchDir dir;
  StoreConfig config;
  config.backend = "postgresql";
  // A socket folder with no server in it.
  config.connection = "host=" + dir.path() + " port=1 dbname=x user=x connect_timeout=2";
  auto store = OpenLocalStore(config, "", "n1");
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("cannot connect"));
}

}  // namespace
}  // namespace fhirsync
