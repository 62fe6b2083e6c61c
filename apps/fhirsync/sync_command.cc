// fhirsync sync: moves changes between this node and its parent. `--pull`
// mirrors the parent's change feed into the node (pull_runner.cc); `--push`
// runs SyncPushService over the outbox.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "command.h"
#include "fhirsync/sync_push_service.h"
#include "node.h"
#include "output.h"
#include "pull_runner.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync sync --pull|--push [--once] [--json] [--dir D]\n"
    "\n"
    "--pull and --push may be given together with --once: pull first, then push.\n"
    "A direction turned off in fhirsync.json (pull.enabled, push.enabled: one-way\n"
    "sync) is then skipped with a note on stderr; asked for alone, it is an error.\n"
    "\n"
    "PULL\n"
    "Pulls the parent's changes into this node: reads the parent's change feed\n"
    "(pull.feed: its Atom feed, or FHIR _history) from where the last pull stopped,\n"
    "keeps the subscribed types (pull.types), fetches the resources pull.batch_size\n"
    "at a time with pull.in_flight requests at once, and applies each page together\n"
    "with the advanced position in one transaction, so an interrupted pull resumes\n"
    "where it stopped. A resource with a local change not yet pushed is never\n"
    "overwritten: the parent's copy is kept beside it as a conflict.\n"
    "\n"
    "The first pull asks the parent for its node id and records it as\n"
    "parent.node_id: the position is kept per parent node, not per address, so a\n"
    "parent that moves keeps this node's place. A parent that answers with another\n"
    "node id is refused.\n"
    "\n"
    "Shows progress on a terminal, then a summary: fetched, applied, unchanged,\n"
    "skipped, conflicts, rejected, time. Without --once, pulls again every\n"
    "pull.interval_seconds until interrupted (SIGINT, SIGTERM).\n"
    "\n"
    "  --pull     pull from the parent\n"
    "  --once     one pull until the feed is drained, then exit\n"
    "  --json     print each summary as one JSON line\n"
    "  --dir D    the node folder (default: the current folder)\n"
    "\n"
    "PUSH\n"
    "Pushes the node's outbox to its parent: every due item in seq order, batched,\n"
    "updates guarded by If-Match. Failures are classified (see `fhirsync outbox`):\n"
    "conflicts are merged when the two sides changed different fields, otherwise\n"
    "recorded (`fhirsync conflicts`); rejected items become dead letters that hold\n"
    "back only later changes of the same resource; network failures and 5xx are\n"
    "retried with backoff up to push.max_attempts; 401/403 pause pushing. An\n"
    "explicit run first lifts such a pause.\n"
    "\n"
    "  --push    push the outbox to the parent\n"
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

int RunPushSide(CommandLine& cl, bool once, bool json) {
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

int RunSync(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool pull = false;
  bool push = false;
  bool once = false;
  bool json = false;
  cl.flags().AddBool("pull", &pull);
  cl.flags().AddBool("push", &push);
  cl.flags().AddBool("once", &once);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (!pull && !push) return cl.UsageError("say what to sync: --pull, --push, or both");
  if (pull && push && !once) {
    return cl.UsageError("--pull and --push together need --once");
  }
  if (pull && push) {
    // One-way sync: asked for both, a node runs the direction that is on
    // and says which it skipped (asked for only a direction that is off, it
    // fails, below).
    StatusOr<NodeConfig> config = LoadNodeConfig(cl.dir());
    if (!config.ok()) return cl.Fail(config.status());
    if (!config->pull.enabled && !config->push.enabled) {
      return cl.Fail(FailedPreconditionError(
          "pulling and pushing are both turned off for this node (pull.enabled and "
          "push.enabled are false in fhirsync.json)"));
    }
    if (!config->pull.enabled) {
      std::cerr << "fhirsync sync: pulling skipped: pull.enabled is false in fhirsync.json\n";
    }
    if (!config->push.enabled) {
      std::cerr << "fhirsync sync: pushing skipped: push.enabled is false in fhirsync.json\n";
    }
    pull = config->pull.enabled;
    push = config->push.enabled;
  }
  if (pull) {
    PullRunOptions options;
    options.once = once;
    options.json = json;
    int exit = RunPull(cl, options);
    if (exit != kExitOk || !push) return exit;
  }
  return RunPushSide(cl, once, json);
}

}  // namespace

extern const Command kSyncCommand = {"sync", "pull the parent's changes and push this node's", kHelp,
                                     &RunSync};

}  // namespace fhirsync::cli
