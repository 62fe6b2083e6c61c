// The Bulk Data export jobs of a server (internal): each runs WriteSnapshot
// (fhirsync/snapshot.h) on its own thread into <node>/exports/<job>/, and is
// read and cancelled only by the user who started it (docs/snapshot.md).
//
// Limits: at most `max_running` jobs run at once; a finished (done or
// failed) job and its files are removed `retain_seconds` after it finished;
// every folder under exports/ is removed when the jobs are made (a server
// start), since no job outlives its server.
//
// Thread safety: every method may be called from any thread.

#ifndef FHIRSYNC_SERVER_EXPORT_JOBS_H_
#define FHIRSYNC_SERVER_EXPORT_JOBS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fhirsync/local_store.h"
#include "fhirsync/snapshot.h"
#include "fhirsync/status.h"

namespace fhirsync::server {

class ExportJobs {
 public:
  struct Options {
    std::string dir;  // <node>/exports; created private when missing
    int max_running = 2;
    int retain_seconds = 3600;
    // NodeServer::Options::on_export_progress: called on the job's thread
    // with the job id after the watermark is taken and after each page; may
    // block (a test holding a job still). Empty: none.
    std::function<void(const std::string& job, const SnapshotProgress&)> on_progress;
  };

  enum class State { kRunning, kDone, kFailed };

  // What a status request sees.
  struct View {
    State state = State::kRunning;
    SnapshotProgress progress;
    std::string manifest_json;  // kDone
    std::string error;          // kFailed
  };

  // One output file of a finished job.
  struct File {
    std::string plain_path;
    std::string gzip_path;
    std::uint64_t plain_bytes = 0;
    std::uint64_t gzip_bytes = 0;
  };

  // Makes the folder and removes what an earlier server left in it.
  // Unavailable naming the folder when it cannot be made.
  static StatusOr<std::unique_ptr<ExportJobs>> Open(LocalStore& store, Options options);
  ~ExportJobs();  // cancels running jobs, waits for them, removes every job
  ExportJobs(const ExportJobs&) = delete;
  ExportJobs& operator=(const ExportJobs&) = delete;

  // Starts a job for `user`; `snapshot.on_progress` and `request` are set
  // here, file URLs are `file_url_prefix` + "<job>/<n>". Returns the job
  // id; ResourceExhausted naming the limit when max_running jobs run.
  StatusOr<std::string> Start(const std::string& user, SnapshotOptions snapshot,
                              const std::string& file_url_prefix);

  // nullopt when there is no such job of `user` (also another user's).
  std::optional<View> Get(const std::string& user, const std::string& job);
  // File `n` (1-based) of a done job of `user`; nullopt when there is none.
  std::optional<File> GetFile(const std::string& user, const std::string& job, int n);
  // Cancels (a running job stops at its next page) and removes the job and
  // its files. False when there is no such job of `user`.
  bool Remove(const std::string& user, const std::string& job);

  // A job id as NewUuid makes them (36 characters, lower-case hex and
  // hyphens); anything else never names a job and is refused before a path
  // is built from it.
  static bool IsJobId(std::string_view text);

 private:
  struct Job;
  ExportJobs(LocalStore& store, Options options);
  void Run(std::shared_ptr<Job> job, SnapshotOptions snapshot, std::string file_url_prefix);
  void SweepLocked(std::vector<std::shared_ptr<Job>>* removed);
  void SweepUntilStopped();
  void RemoveFiles(const Job& job) const;

  LocalStore& store_;
  const Options options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  bool stopping_ = false;  // guarded by mutex_
  std::condition_variable wake_;
  std::thread sweeper_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_EXPORT_JOBS_H_
