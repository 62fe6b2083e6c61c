// fhirsync sync: moves changes between this node and its parent.
//
// --push runs SyncPushService (this file); the pull side adds --pull here.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "command.h"
#include "fhirsync/sync_push_service.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync sync --push [--once] [--json] [--dir D]\n"
    "\n"
    "Pushes the node's outbox to its parent: every due item in seq order, batched,\n"
    "updates guarded by If-Match. Failures are classified (see `fhirsync outbox`):\n"
    "conflicts are merged when the two sides changed different fields, otherwise\n"
    "recorded (`fhirsync conflicts`); rejected items become dead letters that hold\n"
    "back only later changes of the same resource; network failures and 5xx are\n"
    "retried with backoff up to push.max_attempts; 401/403 pause pushing. An\n"
    "explicit run first lifts such a pause.\n"
    "\n"
    "  --push    push (required while this build has no other direction)\n"
    "  --once    one pass until nothing is due, then exit; otherwise keep running,\n"
    "            every push.interval_seconds, until SIGINT/SIGTERM\n"
    "  --json    print the summary as {sent, merged, conflicts, dead_lettered,\n"
    "            retrying, requests, paused, pause_message, seconds}\n"
    "  --dir D   the node folder (default: the current folder)\n"
    "\n"
    "Exit status 1 when pushing is paused (401/403) or the store fails.\n";

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

void PrintSummary(const PushReport& report, double seconds, bool json) {
  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("sent", report.sent);
    out.Field("merged", report.merged);
    out.Field("conflicts", report.conflicts);
    out.Field("dead_lettered", report.dead_lettered);
    out.Field("retrying", report.retrying);
    out.Field("requests", report.requests);
    out.Field("paused", report.paused);
    out.Field("pause_message", report.pause_message);
    out.Field("seconds", seconds);
    out.EndObject();
    out.Print();
    return;
  }
  std::cout << "pushed " << report.sent << ", merged " << report.merged << ", conflicts "
            << report.conflicts << ", dead letters " << report.dead_lettered << ", retrying "
            << report.retrying << " (" << report.requests << " requests, " << seconds << " s)\n";
  if (report.paused) std::cout << "pushing is PAUSED: " << report.pause_message << '\n';
}

int RunSync(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool push = false;
  bool once = false;
  bool json = false;
  cl.flags().AddBool("push", &push);
  cl.flags().AddBool("once", &once);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (!push) return cl.UsageError("say what to sync: --push");
  StatusOr<Node> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (!node->config.push.enabled) {
    return cl.Fail(FailedPreconditionError("pushing is turned off for this node (push.enabled "
                                           "is false in fhirsync.json)"));
  }
  StatusOr<std::unique_ptr<SyncResourceManager>> routes = StartTransports(*node);
  if (!routes.ok()) return cl.Fail(routes.status());
  PushOptions options;
  options.batch_size = node->config.push.batch_size;
  options.max_attempts = node->config.push.max_attempts;
  options.parent_node_id = ParentNodeId(node->config);
  options.resume_paused = true;
  SyncPushService service(node->store.get(), routes->get(), options);

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (once) {
    StatusOr<PushReport> report = service.RunUntilIdle();
    if (!report.ok()) return cl.Fail(report.status());
    PrintSummary(*report, elapsed(), json);
    return report->paused ? kExitFailure : kExitOk;
  }
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  PushReport total;
  while (!g_stop.load()) {
    StatusOr<PushReport> report = service.RunUntilIdle();
    if (!report.ok()) return cl.Fail(report.status());
    total.sent += report->sent;
    total.merged += report->merged;
    total.conflicts += report->conflicts;
    total.dead_lettered += report->dead_lettered;
    total.retrying += report->retrying;
    total.requests += report->requests;
    total.paused = report->paused;
    total.pause_message = report->pause_message;
    const auto wake = std::chrono::steady_clock::now() +
                      std::chrono::seconds(std::max(1, node->config.push.interval_seconds));
    while (!g_stop.load() && std::chrono::steady_clock::now() < wake) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  PrintSummary(total, elapsed(), json);
  return kExitOk;
}

}  // namespace

extern const Command kSyncCommand = {"sync", "push this node's changes to its parent", kHelp,
                                     &RunSync};

}  // namespace fhirsync::cli
