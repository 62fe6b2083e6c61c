#include "watch_runner.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>

#include "fhirsync/parent_identity.h"
#include "fhirsync/sync_push_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "fhirsync/net/io_watchdog.h"
#include "node.h"
#include "output.h"
#include "pull_runner.h"
#include "push_cli.h"
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
  StatusOr<Node> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (options.pull && !node->config.pull.enabled) {
    return cl.Fail(FailedPreconditionError("pulling is disabled (pull.enabled is false)"));
  }
  if (options.push && !node->config.push.enabled) {
    return cl.Fail(FailedPreconditionError(
        "pushing is turned off for this node (push.enabled is false in fhirsync.json)"));
  }
  StatusOr<std::unique_ptr<SyncResourceManager>> manager = StartTransports(*node);
  if (!manager.ok()) return cl.Fail(manager.status().WithContext("starting the plugins"));

  // Both services are made by their first step, on the daemon's thread: a
  // parent that is away at start is then a failure the daemon backs off
  // from, not a reason to exit, and the push service is made after the pull
  // side has learnt the parent's node id.
  // The figures for monitoring, rewritten after every step (watch_metrics.h).
  WatchMetrics metrics((std::filesystem::path(node->dir) / kWatchMetricsFile).string());
  std::unique_ptr<SyncPullService> pull_service;
  SyncStepFn pull_step;
  bool pass_starts = true;
  SyncStepFn pull = [&]() -> StatusOr<SyncStepResult> {
    StatusOr<SyncStepResult> result = [&]() -> StatusOr<SyncStepResult> {
      if (!pull_service) {
        FHIRSYNC_ASSIGN_OR_RETURN(pull_service, StartPullService(*node, manager->get(), 1));
        pull_step = PullStep(pull_service.get());
      }
      if (pass_starts) metrics.PullLagMeasured(pull_service->MeasureLag(kLagBudgetMs), WallNowMs());
      return pull_step();
    }();
    pass_starts = !result.ok() || !result->more;
    metrics.StepDone("pull", result, WallNowMs());
    return result;
  };
  std::unique_ptr<SyncPushService> push_service;
  SyncStepFn push_step;
  SyncStepFn push = [&]() -> StatusOr<SyncStepResult> {
    if (!push_service) {
      push_service = std::make_unique<SyncPushService>(node->store.get(), manager->get(),
                                                       PushOptionsFor(node->config));
      push_step = PushStep(push_service.get(), node->store.get());
    }
    StatusOr<SyncStepResult> result = push_step();
    metrics.StepDone("push", result, WallNowMs());
    return result;
  };
  if (Status written = metrics.Write(WallNowMs()); !written.ok()) {
    std::cerr << "fhirsync sync: warning: no monitoring figures: " << written.message() << '\n';
  }

  // The probe the daemon asks while a side backs off: one small request
  // instead of a pull or push that would fail and count against the outbox.
  StatusOr<TransportSettings> settings = TransportSettingsFor(node->config, node->dir);
  if (!settings.ok()) return cl.Fail(settings.status());
  ParentEndpoint endpoint = ParentEndpointFor(node->config, *settings);
  endpoint.timeout_ms = 5000;

  LogWriter log(options.log_level, options.json);
  SyncDaemonOptions daemon_options;
  daemon_options.pull_enabled = options.pull;
  daemon_options.push_enabled = options.push;
  daemon_options.pull_interval_ms = std::int64_t{node->config.pull.interval_seconds} * 1000;
  daemon_options.push_interval_ms = std::int64_t{node->config.push.interval_seconds} * 1000;
  daemon_options.watch_store = options.push ? node->store.get() : nullptr;
  daemon_options.probe = [&endpoint] { return FetchParentNodeId(endpoint).status(); };
  daemon_options.log_level = options.log_level;
  daemon_options.log = [&log](const SyncLogRecord& record) { log.Write(record); };
  SyncDaemon daemon(options.pull ? pull : SyncStepFn(), options.push ? push : SyncStepFn(),
                    daemon_options);
  if (Status started = daemon.Start(); !started.ok()) return cl.Fail(started);
  NotifyReady(std::string("syncing with ") + node->config.parent.url);

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
  daemon.Stop();
  PrintSummary(options, daemon.Report(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return kExitOk;
}

}  // namespace fhirsync::cli
