// fhirsync stats: what the node holds.

#include <algorithm>
#include <iostream>

#include "command.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync stats [--json] [--dir D]\n"
    "\n"
    "Prints what the node holds: per resource type the live and deleted resources,\n"
    "the totals, the last change sequence number and the outbox items waiting to be\n"
    "pushed.\n"
    "\n"
    "  --json    print {node_id, types: [{type, live, deleted}], live, deleted,\n"
    "            last_seq, outbox_pending}\n"
    "  --dir D   the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunStats(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<StoreStats> stats = (*node)->store().Stats();
  if (!stats.ok()) return cl.Fail(stats.status());
  std::int64_t live = 0;
  std::int64_t deleted = 0;
  for (const TypeCount& t : stats->types) {
    live += t.live;
    deleted += t.deleted;
  }

  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("node_id", (*node)->config().node_id);
    out.Key("types");
    out.StartArray();
    for (const TypeCount& t : stats->types) {
      out.StartObject();
      out.Field("type", t.type);
      out.Field("live", t.live);
      out.Field("deleted", t.deleted);
      out.EndObject();
    }
    out.EndArray();
    out.Field("live", live);
    out.Field("deleted", deleted);
    out.Field("last_seq", stats->last_seq);
    out.Field("outbox_pending", stats->outbox_pending);
    out.EndObject();
    out.Print();
    return kExitOk;
  }
  std::size_t width = 5;  // "total"
  for (const TypeCount& t : stats->types) width = std::max(width, t.type.size());
  std::cout << "node " << (*node)->config().node_id << " (" << (*node)->config().store.backend
            << " store)\n";
  std::cout << Pad("type", width) << "  " << "    live"
            << "  deleted\n";
  for (const TypeCount& t : stats->types) {
    std::cout << Pad(t.type, width) << "  " << PadNumber(t.live, 8) << "  "
              << PadNumber(t.deleted, 7) << '\n';
  }
  std::cout << Pad("total", width) << "  " << PadNumber(live, 8) << "  " << PadNumber(deleted, 7)
            << '\n';
  std::cout << "last change seq  " << stats->last_seq << '\n'
            << "pending outbox   " << stats->outbox_pending << '\n';
  return kExitOk;
}

}  // namespace

extern const Command kStatsCommand = {"stats", "count what the node holds, per type", kHelp,
                                      &RunStats};

}  // namespace fhirsync::cli
