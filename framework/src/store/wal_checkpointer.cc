#include "store/wal_checkpointer.h"

#include <utility>

namespace fhirsync::store {

WalCheckpointer::WalCheckpointer(std::string path) : path_(std::move(path)) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WalCheckpointer::Install(sqlite3* db) {
  sqlite3_wal_hook(db, &WalCheckpointer::OnCommit, this);
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* /*schema*/, int frames) {
  static_cast<WalCheckpointer*>(self)->Commit(db, frames);
  return SQLITE_OK;
}

void WalCheckpointer::Commit(sqlite3* db, int frames) {
  bool copy_here = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The WAL started over: what the last checkpoint copied was of the old one.
    if (frames < last_frames_) {
      copied_frames_ = 0;
      last_frames_ = 0;
    }
    const int added = frames - last_frames_;
    last_frames_ = frames;
    if (frames < kStartFrames) return;
    if (failed_ || frames >= kMaxFrames) {
      copy_here = !running_;
    } else if (!running_) {
      // The rest is small, or no more than this commit added (were the
      // commits larger than kTailFrames, the rest would never be smaller).
      const int rest = frames - copied_frames_;
      if (copied_frames_ > 0 && (rest <= kTailFrames || rest <= added)) {
        copy_here = true;
      } else {
        requested_ = true;
        if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
      }
    }
  }
  if (copy_here) {
    // Errors are left to the next commit and to close, as SQLite's own
    // checkpoint at commit leaves them: the commit itself has succeeded.
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return;
  }
  wake_.notify_one();
}

void WalCheckpointer::Run() {
  sqlite3* db = nullptr;
  const int opened =
      sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_lock<std::mutex> lock(mutex_);
  if (opened != SQLITE_OK) {
    failed_ = true;
    sqlite3_close(db);
    return;
  }
  lock.unlock();
  // It must sync as the store does.
  sqlite3_exec(db, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr);
  lock.lock();
  while (true) {
    wake_.wait(lock, [this] { return stop_ || requested_; });
    if (stop_) break;
    requested_ = false;
    running_ = true;
    lock.unlock();
    if (before_checkpoint_) before_checkpoint_();
    // A connection checkpoints only once it has read the WAL's header, which
    // any read does (until then it answers SQLITE_OK and -1 frames).
    int rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    int log_frames = -1;
    int copied = -1;
    if (rc == SQLITE_OK) {
      rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                     &copied);
    }
    lock.lock();
    running_ = false;
    if (rc == SQLITE_OK && copied >= 0) {
      copied_frames_ = copied;
    } else if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      // The writer checkpoints in its commits from now on.
      failed_ = true;
    }
  }
  lock.unlock();
  sqlite3_close(db);
}

}  // namespace fhirsync::store
