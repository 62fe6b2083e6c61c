// SyncDaemon: keeps a child node in step with its parent for as long as it
// runs. It owns one background thread that runs the pull side
// (SyncPullService) and the push side (SyncPushService) on their intervals
// (pull.interval_seconds, push.interval_seconds), each switchable on its own
// for one-way sync. After a failure a side is retried with exponential
// backoff and jitter (soon at first, then less often, capped) instead of its
// interval; a success resets it, and a success of one side brings the other
// forward (the parent is back). A host calls Trigger() after a local write
// so it is pushed promptly; with `watch_store` set the daemon notices writes
// made by other processes itself. Stop() lets the running step finish (one
// pull page or one push round, each a single store transaction), so nothing
// is left half-applied.
//
// The daemon runs "steps": a side is a function doing one bounded piece of
// work (PullStep and PushStep below wrap the framework's services; a host
// may bring its own). A step that leaves work is run again at once, which is
// what lets Stop() act between pages of a long pull.
//
//   SyncDaemonOptions options;
//   options.log = [](const SyncLogRecord& r) { ... };
//   SyncDaemon daemon(PullStep(pull.get()), PushStep(&push, store), options);
//   daemon.Start();
//   ... host writes: store->Write(...); daemon.Trigger();
//   daemon.Stop();
//
// Thread safety: Start(), Trigger(), Stop() and Report() may be called from
// any thread, concurrently. The steps and the log callback run on the
// daemon's thread only, one at a time; they must not call Stop() (it would
// wait for itself). The services, store and callbacks are borrowed and must
// outlive the daemon (its destructor stops it).

#ifndef FHIRSYNC_SYNC_DAEMON_H_
#define FHIRSYNC_SYNC_DAEMON_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "fhirsync/local_store.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_push_service.h"

namespace fhirsync {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// "error", "warn", "info", "debug".
const char* LogLevelName(LogLevel level);
// The level named `text` (one of the names above). InvalidArgument naming
// the text and the accepted names otherwise.
StatusOr<LogLevel> ParseLogLevel(std::string_view text);

struct SyncLogRecord {
  LogLevel level = LogLevel::kInfo;
  std::string side;  // "pull", "push", or "" for the daemon itself
  std::string message;
};
using SyncLogCallback = std::function<void(const SyncLogRecord& record)>;

// What one step of a side did.
struct SyncStepResult {
  bool more = false;         // work remains: run the side again at once
  std::int64_t moved = 0;    // resources applied (pull) or accepted by the parent (push)
  std::string detail;        // a one-line account of the step, logged at debug
  // When > 0 (and not `more`): run the side again after this long if that
  // is sooner than its interval (outbox items waiting for their retry time).
  std::int64_t again_in_ms = 0;
};
// One bounded piece of a side's work. Its error code says how to retry:
// kUnavailable / kDeadlineExceeded are transient (the parent is away), any
// other error is logged at error level; both back off.
using SyncStepFn = std::function<StatusOr<SyncStepResult>()>;

// A step over SyncPullService::Run. Create the service with
// PullOptions::max_pages = 1 so that a step is one page (Stop() then acts
// between pages); with 0 a step pulls until the feed is drained. `service`
// is borrowed.
SyncStepFn PullStep(SyncPullService* service);
// A step of one SyncPushService::RunOnce round. A round whose every attempt
// failed transiently is Unavailable; paused pushing (401/403) is
// PermissionDenied with the pause message. When the round finds nothing due
// and `store` is given, the step looks up when the next waiting outbox item
// is due (again_in_ms). Both are borrowed; `store` may be null.
SyncStepFn PushStep(SyncPushService* service, LocalStore* store);

struct SyncDaemonOptions {
  bool pull_enabled = true;   // pull.enabled
  bool push_enabled = true;   // push.enabled
  std::int64_t pull_interval_ms = 60'000;  // pull.interval_seconds
  std::int64_t push_interval_ms = 30'000;  // push.interval_seconds
  // Retry delay after the n-th failure in a row: base * 2^(n-1), capped at
  // max, scaled by a random factor in [0.5, 1.0] so that many children do
  // not return to a parent in step.
  std::int64_t backoff_base_ms = 1'000;
  std::int64_t backoff_max_ms = 5 * 60'000;
  // When set, the daemon polls the store's newest change seq every
  // watch_period_ms and pushes promptly when it moves, so writes by other
  // processes (`fhirsync put`) are noticed. Borrowed.
  LocalStore* watch_store = nullptr;
  std::int64_t watch_period_ms = 250;
  // Optional: a cheap check that the parent answers (e.g. FetchParentNodeId).
  // While a side backs off after a transient failure, the daemon calls it
  // before the side's step and, if it fails too, counts another failure
  // without running the step: a parent that is away costs the outbox no
  // attempts (push.max_attempts) and the audit log no rows. Called on the
  // daemon's thread.
  std::function<Status()> probe;
  // Records above `log_level` are not passed to `log`.
  LogLevel log_level = LogLevel::kInfo;
  SyncLogCallback log;
};

// What a side has done since Start().
struct SyncSideReport {
  std::int64_t passes = 0;    // runs that went until nothing was left
  std::int64_t steps = 0;     // steps that succeeded
  std::int64_t failures = 0;  // steps that failed
  std::int64_t moved = 0;     // sum of SyncStepResult::moved
  int failing = 0;            // failures in a row now (0: healthy)
  std::string last_error;     // the newest failure's message, "" if none
};

struct SyncDaemonReport {
  SyncSideReport pull;
  SyncSideReport push;
  std::int64_t triggers = 0;  // Trigger() calls and store changes noticed
};

class SyncDaemon {
 public:
  // `pull` / `push` may be empty when the side is disabled in `options`.
  SyncDaemon(SyncStepFn pull, SyncStepFn push, SyncDaemonOptions options);
  ~SyncDaemon();  // Stop()s
  SyncDaemon(const SyncDaemon&) = delete;
  SyncDaemon& operator=(const SyncDaemon&) = delete;

  // Starts the thread. FailedPrecondition when it already ran, when both
  // sides are disabled, or an enabled side has no step function.
  Status Start();
  // Asks for a prompt push (a local write happened). Cheap; never blocks on
  // a running step. Ignored while pushing backs off after a failure.
  void Trigger();
  // Lets the running step finish, then ends the thread and returns.
  // Idempotent; a no-op before Start().
  void Stop();
  // A snapshot of the counters.
  SyncDaemonReport Report() const;

 private:
  class Loop;

  std::unique_ptr<Loop> loop_;
  std::mutex start_mutex_;  // serializes Start() and Stop()
  bool started_ = false;
  std::thread thread_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_SYNC_DAEMON_H_
