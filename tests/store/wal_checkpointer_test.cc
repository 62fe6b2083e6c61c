// WalCheckpointer (store/wal_checkpointer.h) on a bare SQLite connection:
// commits never checkpoint on the writer's thread while the background
// thread can, the writer copies only the small rest, and the WAL starts over.

#include "store/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store_test_support.h"

namespace fhirsync::store {
namespace {

constexpr auto kDeadline = std::chrono::seconds(20);

class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool AwaitWaiter() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [this] { return waiting_ > 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int waiting_ = 0;
};

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/w.sqlite";
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
         " CREATE TABLE t (x INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }
  void TearDown() override {
    checkpointer_.reset();
    sqlite3_close(db_);
  }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
  }
  // One transaction of `rows` rows of about a page each.
  void Commit(int rows) {
    Exec("BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
         std::to_string(rows) + ") INSERT INTO t (body) SELECT printf('%.3000c', 'x') FROM n;"
         " COMMIT");
  }
  std::string wal() const { return path_ + "-wal"; }

  testing::ScratchDir dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<WalCheckpointer> checkpointer_;
};

TEST_F(WalCheckpointerTest, CommitsLeaveTheCheckpointToTheBackgroundThread) {
  Gate gate;
  checkpointer_ = std::make_unique<WalCheckpointer>(path_);
  checkpointer_->SetBeforeBackgroundCheckpointForTest([&gate] { gate.Wait(); });
  checkpointer_->Install(db_);
  const std::uintmax_t empty = testing::FileSizeOrZero(path_);

  // Past the start size: the background thread is asked, and held.
  Commit(WalCheckpointer::kStartFrames + 100);
  ASSERT_TRUE(gate.AwaitWaiter());
  // Meanwhile the writer goes on and copies nothing itself (SQLite's own
  // checkpoint at commit, 1000 pages by default, would have).
  Commit(1500);
  Commit(1500);
  EXPECT_EQ(testing::FileSizeOrZero(path_), empty);
  EXPECT_EQ(testing::WalRestarts(wal()), 0u);

  gate.Open();
  // The background copies what it found; commits then finish the rest and
  // the WAL starts over.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (testing::WalRestarts(wal()) == 0 && std::chrono::steady_clock::now() < deadline) {
    Commit(10);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(testing::WalRestarts(wal()), 1u);
  EXPECT_GT(testing::FileSizeOrZero(path_), std::uintmax_t{4000} * 4096);
}

TEST_F(WalCheckpointerTest, WriterCopiesEverythingWhenTheThreadCannotOpenTheFile) {
  // A path the background thread cannot open: the writer checkpoints in its
  // commits as SQLite would, and the WAL still starts over.
  checkpointer_ = std::make_unique<WalCheckpointer>(dir_.path() + "/no/such/file.sqlite");
  checkpointer_->Install(db_);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (testing::WalRestarts(wal()) == 0 && std::chrono::steady_clock::now() < deadline) {
    Commit(600);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(testing::WalRestarts(wal()), 1u);
  EXPECT_GT(testing::FileSizeOrZero(path_), std::uintmax_t{1000} * 4096);
}

}  // namespace
}  // namespace fhirsync::store
