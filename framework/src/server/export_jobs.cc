#include "server/export_jobs.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <thread>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync::server {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct ExportJobs::Job {
  std::string id;
  std::string user;
  std::string dir;
  std::thread thread;
  std::atomic<bool> cancel{false};
  // Guarded by ExportJobs::mutex_:
  State state = State::kRunning;
  bool removed = false;  // Remove()d or swept: its files go when it stops
  SnapshotProgress progress;
  std::string manifest_json;
  std::string error;
  std::vector<File> files;
  Clock::time_point finished_at;
};

bool ExportJobs::IsJobId(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

ExportJobs::ExportJobs(LocalStore& store, Options options)
    : store_(store), options_(std::move(options)) {}

StatusOr<std::unique_ptr<ExportJobs>> ExportJobs::Open(LocalStore& store, Options options) {
  std::error_code ec;
  if (!fs::is_directory(options.dir, ec)) {
    if (::mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return UnavailableError(options.dir + ": cannot create the exports folder: " +
                              std::strerror(errno));
    }
  }
  // No job outlives its server: what an earlier one left is removed.
  for (const auto& entry : fs::directory_iterator(options.dir, ec)) {
    std::error_code ignored;
    fs::remove_all(entry.path(), ignored);
  }
  if (ec) {
    return UnavailableError(options.dir + ": cannot read the exports folder: " + ec.message());
  }
  std::unique_ptr<ExportJobs> jobs(new ExportJobs(store, std::move(options)));
  jobs->sweeper_ = std::thread([self = jobs.get()] { self->SweepUntilStopped(); });
  return jobs;
}

// Every second: expired jobs out, their threads joined.
void ExportJobs::SweepUntilStopped() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    std::vector<std::shared_ptr<Job>> removed;
    SweepLocked(&removed);
    lock.unlock();
    for (const auto& job : removed) {
      if (job->thread.joinable()) job->thread.join();
    }
    lock.lock();
  }
}

ExportJobs::~ExportJobs() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  std::map<std::string, std::shared_ptr<Job>> jobs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs.swap(jobs_);
    for (auto& [id, job] : jobs) {
      job->cancel = true;
      job->removed = true;
    }
  }
  for (auto& [id, job] : jobs) {
    if (job->thread.joinable()) job->thread.join();
    RemoveFiles(*job);
  }
}

void ExportJobs::RemoveFiles(const Job& job) const {
  std::error_code ignored;
  fs::remove_all(job.dir, ignored);
}

// Takes expired jobs out of the map (their files removed here, their
// threads joined by the caller outside the lock).
void ExportJobs::SweepLocked(std::vector<std::shared_ptr<Job>>* removed) {
  const Clock::time_point now = Clock::now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const Job& job = *it->second;
    if (job.state != State::kRunning &&
        now - job.finished_at >= std::chrono::seconds(options_.retain_seconds)) {
      it->second->removed = true;
      RemoveFiles(job);
      removed->push_back(it->second);
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

StatusOr<std::string> ExportJobs::Start(const std::string& user, SnapshotOptions snapshot,
                                        const std::string& file_url_prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  int running = 0;
  for (const auto& [id, job] : jobs_) running += job->state == State::kRunning ? 1 : 0;
  if (running >= options_.max_running) {
    return ResourceExhaustedError(
        std::to_string(running) + " exports are running, the most at once " +
        "(server.export_max_running = " + std::to_string(options_.max_running) +
        "); try again when one has finished");
  }
  auto job = std::make_shared<Job>();
  job->id = NewUuid();
  job->user = user;
  job->dir = options_.dir + "/" + job->id;
  if (::mkdir(job->dir.c_str(), 0700) != 0) {
    return UnavailableError(job->dir + ": cannot create: " + std::strerror(errno));
  }
  jobs_[job->id] = job;
  job->thread = std::thread(&ExportJobs::Run, this, job, std::move(snapshot), file_url_prefix);
  return job->id;
}

void ExportJobs::Run(std::shared_ptr<Job> job, SnapshotOptions snapshot,
                     std::string file_url_prefix) {
  const std::string prefix = file_url_prefix + job->id + "/";
  snapshot.on_progress = [this, job](const SnapshotProgress& progress) -> Status {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job->progress = progress;
    }
    if (options_.on_progress) options_.on_progress(job->id, progress);
    if (job->cancel) return AbortedError("the export was cancelled");
    return Status::Ok();
  };
  FolderSnapshotSink sink({job->dir,
                           [prefix](int index, const std::string&) {
                             return prefix + std::to_string(index);
                           },
                           /*gzip_copy=*/true});
  StatusOr<BulkManifest> manifest = WriteSnapshot(store_, snapshot, sink);
  std::vector<File> files;
  if (manifest.ok()) {
    for (const std::string& name : sink.file_names()) {
      File file;
      file.plain_path = job->dir + "/" + name;
      file.gzip_path = file.plain_path + ".gz";
      std::error_code ec;
      file.plain_bytes = fs::file_size(file.plain_path, ec);
      file.gzip_bytes = fs::file_size(file.gzip_path, ec);
      files.push_back(std::move(file));
    }
  }
  bool removed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job->finished_at = Clock::now();
    if (manifest.ok()) {
      job->state = State::kDone;
      job->manifest_json = WriteBulkManifest(*manifest);
      job->files = std::move(files);
    } else {
      job->state = State::kFailed;
      job->error = manifest.status().message();
    }
    removed = job->removed;
  }
  // Files of a failed job serve no one; a removed job's go with it.
  if (removed || !manifest.ok()) RemoveFiles(*job);
}

std::optional<ExportJobs::View> ExportJobs::Get(const std::string& user, const std::string& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(job);
  if (it == jobs_.end() || it->second->user != user) return std::nullopt;
  const Job& j = *it->second;
  View view;
  view.state = j.state;
  view.progress = j.progress;
  view.manifest_json = j.manifest_json;
  view.error = j.error;
  return view;
}

std::optional<ExportJobs::File> ExportJobs::GetFile(const std::string& user,
                                                    const std::string& job, int n) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(job);
  if (it == jobs_.end() || it->second->user != user) return std::nullopt;
  const Job& j = *it->second;
  if (j.state != State::kDone || n < 1 || static_cast<std::size_t>(n) > j.files.size()) {
    return std::nullopt;
  }
  return j.files[static_cast<std::size_t>(n) - 1];
}

bool ExportJobs::Remove(const std::string& user, const std::string& job) {
  std::shared_ptr<Job> removed;
  bool finished = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(job);
    if (it == jobs_.end() || it->second->user != user) return false;
    removed = it->second;
    jobs_.erase(it);
    removed->cancel = true;
    removed->removed = true;
    finished = removed->state != State::kRunning;
  }
  if (finished) {
    RemoveFiles(*removed);
    if (removed->thread.joinable()) removed->thread.join();
  } else {
    // The job stops at its next page and removes its files itself; its
    // thread is joined here, so a cancelled job never outlives its answer.
    if (removed->thread.joinable()) removed->thread.join();
  }
  return true;
}

}  // namespace fhirsync::server
