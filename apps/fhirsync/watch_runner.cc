#include "watch_runner.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>

#include "fhirsync/net/io_watchdog.h"
#include "fhirsync/node.h"
#include "node.h"
#include "output.h"
#include "service_notify.h"
#include "watch_metrics.h"

namespace fhirsync::cli {
namespace {

// How long the pull lag may take to measure at the start of a pass.
constexpr std::int64_t kLagBudgetMs = 2000;

std::int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes log records to stderr, one line each, from any thread.
class LogWriter {
 public:
  LogWriter(LogLevel level, bool json) : level_(level), json_(json) {}

  void Write(const SyncLogRecord& record) {
    if (record.level > level_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (json_) {
      JsonOutput out;
      out.StartObject();
      out.Field("time", TimeText(WallNowMs()));
      out.Field("level", LogLevelName(record.level));
      out.Field("side", record.side);
      out.Field("message", record.message);
      out.EndObject();
      out.Print(std::cerr);
    } else {
      std::cerr << TimeText(WallNowMs()) << ' ' << Pad(LogLevelName(record.level), 5) << ' '
                << (record.side.empty() ? std::string("sync") : record.side) << ": "
                << record.message << std::endl;
    }
  }

 private:
  const LogLevel level_;
  const bool json_;
  std::mutex mutex_;
};

void WriteSide(JsonOutput& out, const char* key, bool enabled, const SyncSideReport& side,
               const char* moved_key) {
  out.Key(key);
  out.StartObject();
  out.Field("enabled", enabled);
  out.Field("passes", side.passes);
  out.Field("steps", side.steps);
  out.Field("failures", side.failures);
  out.Field(moved_key, side.moved);
  out.Field("last_error", side.last_error);
  out.EndObject();
}

void PrintSummary(const WatchOptions& options, const SyncDaemonReport& report, double seconds) {
  if (options.json) {
    JsonOutput out;
    out.StartObject();
    out.Field("seconds", seconds);
    WriteSide(out, "pull", options.pull, report.pull, "applied");
    WriteSide(out, "push", options.push, report.push, "sent");
    out.Field("triggers", report.triggers);
    out.EndObject();
    out.Print();
    return;
  }
  auto side = [](bool enabled, const SyncSideReport& s, const char* verb) {
    if (!enabled) return std::string("off");
    std::ostringstream text;
    text << verb << ' ' << s.moved << " in " << s.passes << " passes, " << s.failures
         << " failed steps";
    if (!s.last_error.empty()) text << " (last error: " << s.last_error << ")";
    return text.str();
  };
  std::cout << "sync stopped after " << std::fixed << std::setprecision(1) << seconds
            << " s: pull " << side(options.pull, report.pull, "applied") << "; push "
            << side(options.push, report.push, "sent") << '\n';
}

}  // namespace

int RunWatch(const CommandLine& cl, const WatchOptions& options) {
  // Every thread started from here on (the daemon's, the plugins') inherits
  // the mask, so the signals wait for sigwait() below instead of
  // interrupting a transaction.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const auto start = std::chrono::steady_clock::now();
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());

  // The figures for monitoring, rewritten after every step (watch_metrics.h).
  WatchMetrics metrics((std::filesystem::path((*node)->dir()) / kWatchMetricsFile).string());
  LogWriter log(options.log_level, options.json);
  DaemonRunOptions daemon;
  daemon.pull = options.pull;
  daemon.push = options.push;
  daemon.log_level = options.log_level;
  daemon.log = [&log](const SyncLogRecord& record) { log.Write(record); };
  daemon.lag_budget_ms = kLagBudgetMs;
  daemon.on_pull_lag = [&metrics](const StatusOr<PullLag>& lag) {
    metrics.PullLagMeasured(lag, WallNowMs());
  };
  daemon.on_step = [&metrics](const char* side, const StatusOr<SyncStepResult>& result) {
    metrics.StepDone(side, result, WallNowMs());
  };
  if (Status started = (*node)->StartDaemon(daemon); !started.ok()) return cl.Fail(started);
  if (Status written = metrics.Write(WallNowMs()); !written.ok()) {
    std::cerr << "fhirsync sync: warning: no monitoring figures: " << written.message() << '\n';
  }
  NotifyReady(std::string("syncing with ") + (*node)->config().parent.url);

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  const std::string stopping = std::string("received ") +
                               (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                               ": stopping (requests to the parent in flight are cut off)";
  NotifyStopping(stopping);
  log.Write({LogLevel::kInfo, "", stopping});
  // Whatever the network does: a request in flight is cut off (its page
  // rolls back and is read again next time) and no new one starts.
  net::CancelRemoteCalls();
  const SyncDaemonReport report = (*node)->StopDaemon();
  PrintSummary(options, report,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return kExitOk;
}

}  // namespace fhirsync::cli
