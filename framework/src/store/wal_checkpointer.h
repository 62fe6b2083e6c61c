// WalCheckpointer: copies a SQLite store's WAL into its database file on a
// thread of its own, so that a writer does not wait for it (internal
// header).
//
// Why: SQLite checkpoints (copies the WAL's pages into the database file
// and fsyncs it) inside the commit that finds the WAL over its size limit.
// During an import that was a sixth of the writer's time, and most of the
// rest of its waiting: the fsync of the database file. Here the commit only
// wakes this thread, which checkpoints from its own connection while the
// writer goes on (SQLite allows one checkpoint beside one writer).
//
// A WAL is started over from its beginning only at the first write after a
// checkpoint that copied all of it. A checkpoint running beside a busy
// writer never copies all of it: the writer has added more by the time it
// ends. So the writer copies the rest itself, in its commit, once what is
// left is small (under kTailFrames, or no more than that commit added);
// that costs it little because the background checkpoint already wrote and
// synced most of the pages.
// Should the background thread fall behind (a WAL past kMaxFrames) or fail,
// the writer checkpoints in its commit as SQLite would have.
//
// Thread safety: OnCommit runs on the writing thread (SQLite's WAL hook);
// the rest is internal.

#ifndef FHIRSYNC_STORE_WAL_CHECKPOINTER_H_
#define FHIRSYNC_STORE_WAL_CHECKPOINTER_H_

#include <sqlite3.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace fhirsync::store {

class WalCheckpointer {
 public:
  // WAL sizes in frames (pages; 4 KiB each). Small, so that copying starts
  // early: a checkpoint that runs beside the writer costs the writer almost
  // nothing. Under a steady import the WAL still starts over only now and
  // then (4 to 15 times in the 60 commits of the x10 import, which grew it
  // to about 70 MiB), as the writer copies the rest only when it is small
  // and no background checkpoint is running. These
  // were the fastest of the sizes tried for store_import_benchmark (1024
  // and 512 against 512/256, 2048/1024, 2048/512 and 8192/2048).
  static constexpr int kStartFrames = 1024;  // a background checkpoint starts
  static constexpr int kTailFrames = 512;    // the writer copies the rest
  static constexpr int kMaxFrames = 65536;   // the writer copies it all

  // `path`: the store's database file, opened by the thread when first needed.
  explicit WalCheckpointer(std::string path);
  // Waits for a running checkpoint and stops the thread.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Makes this the WAL hook of `db` (the store's write connection), which
  // turns off SQLite's own checkpoint at commit.
  void Install(sqlite3* db);

  // Tests: `hook` runs on the background thread before each of its
  // checkpoints (a test may hold it there). Call before the first commit.
  void SetBeforeBackgroundCheckpointForTest(std::function<void()> hook) {
    before_checkpoint_ = std::move(hook);
  }

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Commit(sqlite3* db, int frames);
  void Run();

  const std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false;
  bool running_ = false;
  bool stop_ = false;
  // The frames the last background checkpoint copied, and the WAL size at
  // the last commit (smaller than before: the WAL started over).
  int copied_frames_ = 0;
  int last_frames_ = 0;
  bool failed_ = false;  // the thread could not open or checkpoint
  std::function<void()> before_checkpoint_;
  std::thread thread_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_WAL_CHECKPOINTER_H_
