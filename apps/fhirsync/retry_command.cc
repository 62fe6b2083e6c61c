// fhirsync retry: re-queues dead-lettered pushes.

#include <iostream>

#include "command.h"
#include "fhirsync/push_operations.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync retry (SEQ | --all) [--force --user NAME] [--json] [--dir D]\n"
    "\n"
    "Re-queues outbox item SEQ (and the other waiting items of its resource), or\n"
    "every dead letter with --all, to be sent on the next push; the items keep their\n"
    "history and correlation id. Also lifts a push pause after 401/403.\n"
    "\n"
    "  --force      send without If-Match: overwrite the parent's copy with this\n"
    "               node's (settles the resource's open conflict). Needs admin\n"
    "               credentials: --user NAME of an admin user of this node, with the\n"
    "               password on stdin\n"
    "  --user NAME  the admin user for --force\n"
    "  --json       print {requeued: [seq...], discarded: [], local_version, message}\n"
    "  --dir D      the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunRetry(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool all = false;
  bool force = false;
  bool json = false;
  std::string user;
  cl.flags().AddBool("all", &all);
  cl.flags().AddBool("force", &force);
  cl.flags().AddBool("json", &json);
  cl.flags().AddString("user", "NAME", &user);
  if (auto exit = cl.Parse(0, 1)) return *exit;
  if (all == !cl.positional().empty()) return cl.UsageError("give one outbox SEQ or --all");
  std::int64_t seq = 0;
  if (!all) {
    try {
      std::size_t used = 0;
      seq = std::stoll(cl.positional()[0], &used);
      if (used != cl.positional()[0].size() || seq <= 0) throw std::invalid_argument("seq");
    } catch (const std::exception&) {
      return cl.UsageError("'" + cl.positional()[0] + "' is not an outbox seq (a positive number)");
    }
  }
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (force) {
    Status admin = RequireAdmin((*node)->config(), user, "retry --force");
    if (!admin.ok()) return cl.Fail(admin);
  }
  std::unique_ptr<PushOperations> ops = (*node)->OperatorActions();
  StatusOr<OperatorActionResult> done =
      all ? ops->RetryAll(force, user) : ops->Retry(seq, force, user);
  if (!done.ok()) return cl.Fail(done.status());
  PrintOperatorResult(*done, json);
  return kExitOk;
}

}  // namespace

extern const Command kRetryCommand = {"retry", "re-queue dead-lettered pushes", kHelp, &RunRetry};

}  // namespace fhirsync::cli
