// fhirsync resubmit: re-queues what the parent lacks or holds differently.

#include <iostream>

#include "command.h"
#include "fhirsync/push_operations.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync resubmit --from DATE --to DATE --user NAME [--json] [--dir D]\n"
    "\n"
    "Compares the local resources changed in [--from, --to) with the parent's\n"
    "copies, read in batches, by content hash, and re-queues the local changes the\n"
    "parent lacks or holds differently (e.g. after the parent was restored from a\n"
    "backup). Resources that match are left alone. Needs admin credentials: --user\n"
    "NAME of an admin user of this node, with the password on stdin.\n"
    "\n"
    "  --from DATE  start (inclusive): 2026-11-22 or 2026-11-22T10:00:00Z\n"
    "  --to DATE    end (exclusive)\n"
    "  --user NAME  the admin user\n"
    "  --json       print {checked, same, requeued, not_local: [TYPE/ID...]}\n"
    "  --dir D      the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunResubmit(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string from_text, to_text, user;
  bool json = false;
  cl.flags().AddString("from", "DATE", &from_text);
  cl.flags().AddString("to", "DATE", &to_text);
  cl.flags().AddString("user", "NAME", &user);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (from_text.empty() || to_text.empty()) return cl.UsageError("give --from DATE and --to DATE");
  StatusOr<std::int64_t> from = ParseTimeFlag("from", from_text);
  if (!from.ok()) return cl.UsageError(from.status().message());
  StatusOr<std::int64_t> to = ParseTimeFlag("to", to_text);
  if (!to.ok()) return cl.UsageError(to.status().message());
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  Status admin = RequireAdmin((*node)->config(), user, "resubmit");
  if (!admin.ok()) return cl.Fail(admin);
  StatusOr<std::unique_ptr<PushOperations>> ops = (*node)->OperatorActionsWithParent();
  if (!ops.ok()) return cl.Fail(ops.status());
  StatusOr<ResubmitReport> report = (*ops)->Resubmit(*from, *to, user);
  if (!report.ok()) return cl.Fail(report.status());
  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("checked", report->checked);
    out.Field("same", report->same);
    out.Field("requeued", report->requeued);
    out.Key("not_local");
    out.StartArray();
    for (const std::string& key : report->not_local) out.String(key);
    out.EndArray();
    out.EndObject();
    out.Print();
    return kExitOk;
  }
  std::cout << "checked " << report->checked << ", same on the parent " << report->same
            << ", re-queued " << report->requeued << '\n';
  for (const std::string& key : report->not_local) {
    std::cout << "differs but its current version came from the parent: " << key << '\n';
  }
  return kExitOk;
}

}  // namespace

extern const Command kResubmitCommand = {
    "resubmit", "re-queue changes the parent lacks or holds differently", kHelp, &RunResubmit};

}  // namespace fhirsync::cli
