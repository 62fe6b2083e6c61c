// fhirsync discard: "leave server version" done right.

#include <iostream>

#include "command.h"
#include "fhirsync/push_operations.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync discard SEQ [--json] [--dir D]\n"
    "\n"
    "Drops outbox item SEQ and the other waiting items of its resource AND restores\n"
    "the parent's copy of the resource locally (read from the parent now; a\n"
    "deletion when the parent has none). The discarded local body is kept in the\n"
    "audit log (`fhirsync audit --status discarded`). Nothing changes when the\n"
    "parent cannot be reached.\n"
    "\n"
    "  --json    print {requeued: [], discarded: [seq...], local_version, message}\n"
    "  --dir D   the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunDiscard(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, 1)) return *exit;
  std::int64_t seq = 0;
  try {
    std::size_t used = 0;
    seq = std::stoll(cl.positional()[0], &used);
    if (used != cl.positional()[0].size() || seq <= 0) throw std::invalid_argument("seq");
  } catch (const std::exception&) {
    return cl.UsageError("'" + cl.positional()[0] + "' is not an outbox seq (a positive number)");
  }
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<std::unique_ptr<PushOperations>> ops = (*node)->OperatorActionsWithParent();
  if (!ops.ok()) return cl.Fail(ops.status());
  StatusOr<OperatorActionResult> done = (*ops)->Discard(seq, "");
  if (!done.ok()) return cl.Fail(done.status());
  PrintOperatorResult(*done, json);
  return kExitOk;
}

}  // namespace

extern const Command kDiscardCommand = {
    "discard", "drop a queued change and restore the parent's copy", kHelp, &RunDiscard};

}  // namespace fhirsync::cli
