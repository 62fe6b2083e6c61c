// fhirsync verify: compare this node with its parent by range digests.

#include <iomanip>
#include <iostream>

#include "command.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/digest.h"
#include "fhirsync/node.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync verify [--type T]... [--since DATE] [--json] [--dir D]\n"
    "\n"
    "Compares what this node holds with what its parent holds, without copying\n"
    "everything: both sides hash sorted ranges of (id, content hash) per type and\n"
    "only ranges that differ are split further, until the differing resources are\n"
    "named. Each is listed as missing here, missing on the parent, or different,\n"
    "with the command that mends it (pull, push, resubmit). Content is compared\n"
    "by hash: versions are numbered by each node on its own.\n"
    "\n"
    "  --type T      only this resource type (repeatable)\n"
    "  --since DATE  report only resources changed at or after DATE on either side\n"
    "  --json        print {node_id, parent, in_sync, findings: [{kind, type, id,\n"
    "                local_version, parent_version, fix, command}], local_resources,\n"
    "                parent_resources, ranges_compared, entries_listed, requests,\n"
    "                seconds}\n"
    "  --dir D       the node folder (default: $FHIRSYNC_DIR or .)\n"
    "\n"
    "Exit status: 0 when both sides hold the same, 1 when they differ or the\n"
    "parent cannot be asked.\n";

int RunVerify(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  std::string type;
  std::string since;
  cl.flags().AddBool("json", &json);
  cl.flags().AddString("type", "T", &type);
  cl.flags().AddString("since", "DATE", &since);
  if (auto exit = cl.Parse(0, 0)) return *exit;

  VerifyOptions options;
  if (!type.empty()) {
    if (Status st = ValidateResourceType(type); !st.ok()) return cl.UsageError(st.message());
    options.types.push_back(type);
  }
  if (!since.empty()) {
    StatusOr<std::int64_t> since_ms = ParseInstant(since);
    if (!since_ms.ok()) return cl.UsageError("--since: " + since_ms.status().message());
    options.since_ms = *since_ms;
  }

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<VerifyReport> report = (*node)->Verify(options);
  if (!report.ok()) return cl.Fail(report.status());
  const NodeConfig config = (*node)->config();

  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("node_id", config.node_id);
    out.Field("parent", config.parent.url);
    out.Field("in_sync", report->in_sync());
    out.Key("findings");
    out.StartArray();
    for (const VerifyFinding& f : report->findings) {
      out.StartObject();
      out.Field("kind", VerifyDifferenceName(f.kind));
      out.Field("type", f.type);
      out.Field("id", f.id);
      out.Field("local_version", f.local_version);
      out.Field("parent_version", f.parent_version);
      out.Field("local_change_queued", f.local_change_queued);
      out.Field("fix", f.fix_action);
      out.Field("command", f.fix_command);
      out.EndObject();
    }
    out.EndArray();
    out.Field("local_resources", report->local_resources);
    out.Field("parent_resources", report->parent_resources);
    out.Field("ranges_compared", report->ranges_compared);
    out.Field("entries_listed", report->entries_listed);
    out.Field("requests", report->requests);
    out.Field("seconds", report->seconds);
    out.EndObject();
    out.Print();
  } else {
    std::cout << "node " << config.node_id << " compared with its parent "
              << config.parent.url << '\n';
    for (const VerifyFinding& f : report->findings) {
      std::string what;
      switch (f.kind) {
        case VerifyDifference::kMissingHere:
          what = "is on the parent (v" + std::to_string(f.parent_version) +
                 ") but not on this node";
          break;
        case VerifyDifference::kMissingOnParent:
          what = "is on this node (v" + std::to_string(f.local_version) +
                 ") but not on the parent";
          break;
        case VerifyDifference::kDifferent:
          what = "differs: this node v" + std::to_string(f.local_version) + ", parent v" +
                 std::to_string(f.parent_version);
          break;
      }
      if (f.local_change_queued) what += " (a local change is waiting to be sent)";
      std::cout << "  " << f.type << '/' << f.id << ' ' << what << "\n      fix: "
                << f.fix_command << '\n';
    }
    std::cout << (report->in_sync() ? "in sync: " : std::to_string(report->findings.size()) +
                                                         " difference(s): ")
              << report->local_resources << " resources here, " << report->parent_resources
              << " on the parent; " << report->ranges_compared << " ranges compared, "
              << report->entries_listed << " entries listed, " << report->requests
              << " requests, " << std::fixed << std::setprecision(2) << report->seconds
              << " s\n";
  }
  return report->in_sync() ? kExitOk : kExitFailure;
}

}  // namespace

extern const Command kVerifyCommand = {"verify", "compare this node with its parent by digests",
                                       kHelp, &RunVerify};

}  // namespace fhirsync::cli
