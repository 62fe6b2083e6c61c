// fhirsync sync: moves data between this node and its parent. `--pull`
// mirrors the parent's change feed into the node (pull_runner.cc).

#include <iostream>

#include "command.h"
#include "pull_runner.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync sync --pull [--once] [--json] [--dir D]\n"
    "\n"
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
    "  --pull     pull from the parent (required)\n"
    "  --once     one pull until the feed is drained, then exit\n"
    "  --json     print each summary as one JSON line\n"
    "  --dir D    the node folder (default: the current folder)\n";

int RunSync(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool pull = false;
  bool once = false;
  bool json = false;
  cl.flags().AddBool("pull", &pull);
  cl.flags().AddBool("once", &once);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (!pull) return cl.UsageError("say what to sync: --pull");
  PullRunOptions options;
  options.once = once;
  options.json = json;
  return RunPull(cl, options);
}

}  // namespace

extern const Command kSyncCommand = {"sync", "pull the parent's changes into this node", kHelp,
                                     &RunSync};

}  // namespace fhirsync::cli
