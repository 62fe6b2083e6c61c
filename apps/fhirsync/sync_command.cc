// fhirsync sync: moves changes between this node and its parent. `--once`
// runs one pass (Node::Pull, shown by pull_runner.cc, then Node::Push);
// `--watch` runs the daemon (watch_runner.cc, Node::StartDaemon).

#include <chrono>
#include <iostream>
#include <string>

#include "command.h"
#include "fhirsync/node.h"
#include "node.h"
#include "output.h"
#include "pull_runner.h"
#include "watch_runner.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync sync (--once|--watch) [--pull] [--push] [--log-level L] [--json] [--dir D]\n"
    "\n"
    "Moves changes between this node and its parent. --pull and --push choose the\n"
    "sides; without either, both sides run as fhirsync.json enables them\n"
    "(pull.enabled, push.enabled; one of them off is one-way sync).\n"
    "\n"
    "  --once       one pass, for cron: pull until the feed is drained, then push\n"
    "               until nothing is due, print each summary and exit\n"
    "  --watch      the daemon: keep both sides going until SIGTERM/SIGINT (the\n"
    "               default when --pull or --push is given without --once)\n"
    "  --log-level  --watch: error, warn, info (default) or debug\n"
    "  --json       --once: each summary as one JSON line; --watch: JSON log lines\n"
    "               and a JSON summary\n"
    "  --dir D      the node folder (default: $FHIRSYNC_DIR or .)\n"
    "\n"
    "WATCH\n"
    "Pulls every pull.interval_seconds and pushes every push.interval_seconds. A\n"
    "write made on this node, by this program or another process (`fhirsync put`),\n"
    "is pushed within about a second: the daemon watches the store for new\n"
    "changes. After a failure (parent unreachable, timeout, an error) a side is\n"
    "retried with exponential backoff and jitter, from about a second up to five\n"
    "minutes, instead of its interval; the first success resets it and brings the\n"
    "other side forward. Paused pushing (401/403) stays paused until an operator\n"
    "runs `fhirsync sync --push --once`.\n"
    "\n"
    "Logs go to stderr, one line each: time, level, side, message. SIGTERM or\n"
    "SIGINT cuts off any request to the parent in flight, so the current page or\n"
    "push round finishes or rolls back whole (each is one transaction: nothing is\n"
    "left half-applied; a rolled-back page is read again next time), then prints\n"
    "a summary on stdout (applied, sent, passes, failed steps) and exits 0.\n"
    "\n"
    "For monitoring, the daemon rewrites D/sync-watch.prom (Prometheus text: last\n"
    "success per side, failing steps, pull lag in changes and seconds) after every\n"
    "step; the node's `serve` adds it to GET /metrics.\n"
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
    "With --once, shows progress on a terminal, then a summary: fetched, applied,\n"
    "unchanged, skipped, conflicts, rejected, time.\n"
    "\n"
    "PUSH\n"
    "Pushes the node's outbox to its parent: every due item in seq order, batched,\n"
    "updates guarded by If-Match. Failures are classified (see `fhirsync outbox`):\n"
    "conflicts are merged when the two sides changed different fields, otherwise\n"
    "recorded (`fhirsync conflicts`); rejected items become dead letters that hold\n"
    "back only later changes of the same resource; network failures and 5xx are\n"
    "retried with backoff up to push.max_attempts; 401/403 pause pushing. An\n"
    "explicit run (--push --once) first lifts such a pause. Its --json summary:\n"
    "{sent, merged, conflicts, dead_lettered, retrying, requests, paused,\n"
    "pause_message, seconds}.\n"
    "\n"
    "Exit status of --once: 1 when pushing is paused (401/403), the parent cannot\n"
    "be reached or the store fails.\n";

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

// One push pass until nothing is due; an explicit run lifts an auth pause.
int RunPushOnce(const CommandLine& cl, Node& node, bool json) {
  const auto start = std::chrono::steady_clock::now();
  PushRunOptions options;
  options.resume_paused = true;
  StatusOr<PushReport> report = node.Push(options);
  if (!report.ok()) return cl.Fail(report.status());
  PrintSummary(*report,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               json);
  return report->paused ? kExitFailure : kExitOk;
}

int RunSync(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool pull = false;
  bool push = false;
  bool once = false;
  bool watch = false;
  bool json = false;
  std::string log_level = "info";
  cl.flags().AddBool("pull", &pull);
  cl.flags().AddBool("push", &push);
  cl.flags().AddBool("once", &once);
  cl.flags().AddBool("watch", &watch);
  cl.flags().AddBool("json", &json);
  cl.flags().AddString("log-level", "L", &log_level);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (once && watch) return cl.UsageError("--once and --watch exclude each other");
  if (!once && !watch && !pull && !push) {
    return cl.UsageError("say how to sync: --once (one pass) or --watch (keep running)");
  }
  StatusOr<LogLevel> level = ParseLogLevel(log_level);
  if (!level.ok()) return cl.UsageError("--log-level: " + level.status().message());
  if (once && cl.Seen("log-level")) return cl.UsageError("--log-level goes with --watch");
  if (!pull && !push) {
    // Neither side named: both, as the node's config enables them.
    StatusOr<NodeConfig> config = LoadNodeConfig(cl.dir());
    if (!config.ok()) return cl.Fail(config.status());
    pull = config->pull.enabled;
    push = config->push.enabled;
    if (!pull && !push) {
      return cl.Fail(FailedPreconditionError(
          "pulling and pushing are both turned off for this node (pull.enabled and "
          "push.enabled in fhirsync.json)"));
    }
  }
  if (!once) {
    WatchOptions options;
    options.pull = pull;
    options.push = push;
    options.log_level = *level;
    options.json = json;
    return RunWatch(cl, options);
  }
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (pull) {
    const int exit = RunPull(cl, **node, json);
    if (exit != kExitOk || !push) return exit;
  }
  return RunPushOnce(cl, **node, json);
}

}  // namespace

extern const Command kSyncCommand = {"sync", "pull the parent's changes and push this node's", kHelp,
                                     &RunSync};

}  // namespace fhirsync::cli
