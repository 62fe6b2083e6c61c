#include "fhirsync/sync_daemon.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iomanip>
#include <sstream>
#include <vector>

#include "fhirsync/base/text_util.h"
#include "sync/sync_schedule.h"

namespace fhirsync {
namespace {

constexpr const char* kLevelNames[] = {"error", "warn", "info", "debug"};

const char* SideName(SyncSide side) { return side == SyncSide::kPull ? "pull" : "push"; }

bool IsTransient(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded;
}

std::string Seconds(std::int64_t ms) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(ms < 10'000 ? 1 : 0)
       << static_cast<double>(ms) / 1000.0 << " s";
  return text.str();
}

}  // namespace

const char* LogLevelName(LogLevel level) { return kLevelNames[static_cast<int>(level)]; }

StatusOr<LogLevel> ParseLogLevel(std::string_view text) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return InvalidArgumentError("unknown log level '" + EscapeForMessage(text) +
                              "' (expected error, warn, info or debug)");
}

SyncStepFn PullStep(SyncPullService* service) {
  return [service]() -> StatusOr<SyncStepResult> {
    FHIRSYNC_ASSIGN_OR_RETURN(PullSummary s, service->Run());
    SyncStepResult result;
    result.more = !s.at_head;
    result.moved = s.applied;
    std::ostringstream detail;
    detail << s.pages << " page(s): fetched " << s.fetched << ", applied " << s.applied
           << ", unchanged " << s.unchanged << ", skipped " << s.skipped << ", conflicts "
           << s.conflicts << ", rejected " << s.rejected << (s.at_head ? " (at head)" : "");
    result.detail = detail.str();
    return result;
  };
}

// How long until the first outbox item that waits for its retry time (and
// no dead letter holds back) is due; 0 when none is due within `horizon_ms`.
StatusOr<std::int64_t> NextOutboxRetryInMs(LocalStore* store, std::int64_t horizon_ms) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  OutboxQuery query;
  query.due_at_ms = now + horizon_ms;
  query.limit = 200;
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> waiting, store->ListOutbox(query));
  std::int64_t next = 0;
  for (const OutboxItem& item : waiting) {
    const std::int64_t in = std::max<std::int64_t>(item.next_attempt_ms - now, 250);
    if (next == 0 || in < next) next = in;
  }
  return next;
}

SyncStepFn PushStep(SyncPushService* service, LocalStore* store) {
  return [service, store]() -> StatusOr<SyncStepResult> {
    FHIRSYNC_ASSIGN_OR_RETURN(PushReport r, service->RunOnce());
    if (r.paused) {
      return PermissionDeniedError("pushing is paused: " + r.pause_message +
                                   " (an operator lifts it with `fhirsync sync --push --once`)");
    }
    if (r.retrying > 0 && r.sent == 0 && r.merged == 0) {
      return UnavailableError("push: " + std::to_string(r.retrying) +
                              " change(s) could not be delivered; the outbox retries them "
                              "(see `fhirsync outbox`)");
    }
    SyncStepResult result;
    result.more = !r.idle;
    result.moved = r.sent;
    std::ostringstream detail;
    detail << "sent " << r.sent << ", merged " << r.merged << ", conflicts " << r.conflicts
           << ", dead letters " << r.dead_lettered << ", retrying " << r.retrying << " ("
           << r.requests << " requests)";
    result.detail = detail.str();
    if (r.idle && store != nullptr) {
      // A day ahead is enough: the daemon's interval is shorter in practice.
      FHIRSYNC_ASSIGN_OR_RETURN(result.again_in_ms, NextOutboxRetryInMs(store, 86'400'000));
    }
    return result;
  };
}

// The daemon's state, shared by its thread and the callers of Trigger(),
// Stop() and Report(). `mutex_` guards everything but the step functions and
// the options, which only the daemon thread uses after Start().
class SyncDaemon::Loop {
 public:
  Loop(SyncStepFn pull, SyncStepFn push, SyncDaemonOptions options)
      : options_(std::move(options)),
        schedule_(ScheduleOptions(options_), NowMs()) {
    steps_[0] = std::move(pull);
    steps_[1] = std::move(push);
  }

  Status Check() const {
    if (!options_.pull_enabled && !options_.push_enabled) {
      return FailedPreconditionError(
          "sync daemon: both pulling and pushing are turned off (pull.enabled, push.enabled)");
    }
    if ((options_.pull_enabled && !steps_[0]) || (options_.push_enabled && !steps_[1])) {
      return FailedPreconditionError("sync daemon: an enabled side has no step function");
    }
    return Status::Ok();
  }

  void Run() {
    Log(LogLevel::kInfo, "", Describe());
    std::unique_lock<std::mutex> lock(mutex_);
    schedule_ = SyncSchedule(ScheduleOptions(options_), NowMs());
    std::int64_t next_watch = 0;
    while (!stop_) {
      std::int64_t now = NowMs();
      if (trigger_) {
        trigger_ = false;
        schedule_.Trigger(SyncSide::kPush, now);
      }
      if (options_.watch_store != nullptr && now >= next_watch) {
        next_watch = now + options_.watch_period_ms;
        lock.unlock();
        const bool changed = StoreChanged();
        lock.lock();
        if (changed) {
          ++report_.triggers;
          schedule_.Trigger(SyncSide::kPush, NowMs());
        }
        continue;
      }
      std::optional<SyncSide> side = schedule_.Due(now);
      if (!side) {
        std::int64_t wake = schedule_.NextDueMs();
        if (options_.watch_store != nullptr) wake = std::min(wake, next_watch);
        wake_.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(1, wake - now)));
        continue;
      }
      lock.unlock();
      RunStep(*side);
      lock.lock();
    }
    lock.unlock();
    Log(LogLevel::kInfo, "", "stopped");
  }

  void Trigger() {
    std::lock_guard<std::mutex> lock(mutex_);
    trigger_ = true;
    ++report_.triggers;
    wake_.notify_all();
  }

  void RequestStop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    wake_.notify_all();
  }

  SyncDaemonReport Report() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return report_;
  }

 private:
  // Progress of the pass a side is in (steps until nothing is left).
  struct Pass {
    bool open = false;
    std::int64_t started_ms = 0;
    std::int64_t steps = 0;
    std::int64_t moved = 0;
  };

  static SyncScheduleOptions ScheduleOptions(const SyncDaemonOptions& o) {
    SyncScheduleOptions s;
    s.pull_enabled = o.pull_enabled;
    s.push_enabled = o.push_enabled;
    s.pull_interval_ms = o.pull_interval_ms;
    s.push_interval_ms = o.push_interval_ms;
    s.backoff_base_ms = o.backoff_base_ms;
    s.backoff_max_ms = o.backoff_max_ms;
    return s;
  }

  static std::int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::string Describe() const {
    auto side = [](bool enabled, std::int64_t interval_ms) {
      return enabled ? "every " + Seconds(interval_ms) : std::string("off");
    };
    std::string text = "started: pull " + side(options_.pull_enabled, options_.pull_interval_ms) +
                       ", push " + side(options_.push_enabled, options_.push_interval_ms);
    if (options_.watch_store != nullptr) text += ", watching the store for local changes";
    return text;
  }

  // Whether the store's newest change seq moved since the last look. The
  // first look only records it. A failing look is logged, not fatal.
  bool StoreChanged() {
    StatusOr<std::int64_t> seq = options_.watch_store->LastSeq();
    if (!seq.ok()) {
      Log(LogLevel::kWarn, "", "cannot read the store's newest change: " + seq.status().ToString());
      return false;
    }
    const bool changed = last_seq_ >= 0 && *seq != last_seq_;
    if (changed) Log(LogLevel::kDebug, "push", "local change noticed (seq " + std::to_string(*seq) + ")");
    last_seq_ = *seq;
    return changed;
  }

  void RunStep(SyncSide side) {
    const int index = static_cast<int>(side);
    const char* name = SideName(side);
    Pass& pass = passes_[index];
    if (!pass.open) pass = {true, NowMs(), 0, 0};
    StatusOr<SyncStepResult> result = Probe(side);
    if (result.ok()) result = steps_[index]();
    const std::int64_t now = NowMs();
    std::unique_lock<std::mutex> lock(mutex_);
    SyncSideReport& report = index == 0 ? report_.pull : report_.push;
    if (!result.ok()) {
      const bool transient = IsTransient(result.status());
      const std::int64_t delay = schedule_.Failed(side, now, transient);
      ++report.failures;
      report.failing = schedule_.failures(side);
      report.last_error = result.status().ToString();
      const int failing = report.failing;
      pass.open = false;
      lock.unlock();
      Log(transient ? LogLevel::kWarn : LogLevel::kError, name,
          "failed (" + std::to_string(failing) + " in a row): " + result.status().ToString() +
              "; next try in " + Seconds(delay));
      return;
    }
    const int failed_before = schedule_.failures(side);
    schedule_.Succeeded(side, now, result->more, result->again_in_ms);
    ++report.steps;
    report.moved += result->moved;
    report.failing = 0;
    pass.steps += 1;
    pass.moved += result->moved;
    if (!result->more) {
      ++report.passes;
      pass.open = false;
    }
    lock.unlock();
    if (failed_before > 0) {
      Log(LogLevel::kInfo, name,
          "the parent answers again after " + std::to_string(failed_before) + " failed attempt(s)");
    }
    Log(LogLevel::kDebug, name, result->detail);
    if (!result->more) {
      const std::string verb = side == SyncSide::kPull ? "applied " : "pushed ";
      Log(pass.moved > 0 ? LogLevel::kInfo : LogLevel::kDebug, name,
          (pass.moved > 0 ? verb + std::to_string(pass.moved) : std::string("nothing new")) +
              " in " + std::to_string(pass.steps) + " step(s), " + Seconds(now - pass.started_ms));
    }
  }

  // While `side` backs off after a transient failure, asks the probe
  // whether the parent answers; its error stands in for the step's. OK (an
  // empty result) when the step should run.
  StatusOr<SyncStepResult> Probe(SyncSide side) {
    if (!options_.probe) return SyncStepResult{};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (schedule_.failures(side) == 0 || !schedule_.last_failure_transient(side)) {
        return SyncStepResult{};
      }
    }
    Status reached = options_.probe();
    if (reached.ok() || !IsTransient(reached)) return SyncStepResult{};
    return reached;
  }

  void Log(LogLevel level, const char* side, const std::string& message) const {
    if (!options_.log || level > options_.log_level) return;
    options_.log(SyncLogRecord{level, side, message});
  }

  const SyncDaemonOptions options_;
  SyncStepFn steps_[2];
  Pass passes_[2];          // daemon thread only
  std::int64_t last_seq_ = -1;  // daemon thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  SyncSchedule schedule_;
  bool stop_ = false;
  bool trigger_ = false;
  SyncDaemonReport report_;
};

SyncDaemon::SyncDaemon(SyncStepFn pull, SyncStepFn push, SyncDaemonOptions options)
    : loop_(std::make_unique<Loop>(std::move(pull), std::move(push), std::move(options))) {}

SyncDaemon::~SyncDaemon() { Stop(); }

Status SyncDaemon::Start() {
  std::lock_guard<std::mutex> lock(start_mutex_);
  if (started_) return FailedPreconditionError("sync daemon: already started");
  FHIRSYNC_RETURN_IF_ERROR(loop_->Check());
  started_ = true;
  thread_ = std::thread([this] { loop_->Run(); });
  return Status::Ok();
}

void SyncDaemon::Trigger() { loop_->Trigger(); }

void SyncDaemon::Stop() {
  std::lock_guard<std::mutex> lock(start_mutex_);
  if (!started_) return;
  loop_->RequestStop();
  if (thread_.joinable()) thread_.join();
}

SyncDaemonReport SyncDaemon::Report() const { return loop_->Report(); }

}  // namespace fhirsync
