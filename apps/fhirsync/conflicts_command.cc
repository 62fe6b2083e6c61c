// fhirsync conflicts: lists, shows and resolves recorded conflicts.

#include <iostream>

#include "body_input.h"
#include "command.h"
#include "fhirsync/push_operations.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync conflicts [show ID | resolve ID --take local|server|FILE]\n"
    "                          [--all] [--json] [--dir D]\n"
    "\n"
    "A conflict is a local change and a parent's version that changed the same\n"
    "thing differently since their common base, or a resource created here and on\n"
    "the parent (by another node) with the same id and different content (no\n"
    "base); the local change waits as a dead letter. Each conflict says which.\n"
    "Without a word: lists the open conflicts (--all: resolved ones too).\n"
    "\n"
    "  show ID                   base, local and server bodies and versions\n"
    "  resolve ID --take local   send the local version over the server's\n"
    "  resolve ID --take server  keep the server's version (restored locally; the\n"
    "                            local body stays in the audit log)\n"
    "  resolve ID --take FILE    send FILE, a merged body the operator wrote\n"
    "  --json                    machine-readable output\n"
    "  --dir D                   the node folder (default: $FHIRSYNC_DIR or .)\n";

std::optional<std::int64_t> ParseId(const std::string& text) {
  try {
    std::size_t used = 0;
    std::int64_t id = std::stoll(text, &used);
    if (used == text.size() && id > 0) return id;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

int RunConflicts(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  bool all = false;
  std::string take;
  cl.flags().AddBool("json", &json);
  cl.flags().AddBool("all", &all);
  cl.flags().AddString("take", "local|server|FILE", &take);
  if (auto exit = cl.Parse(0, 2)) return *exit;
  const std::vector<std::string>& words = cl.positional();
  std::string verb = words.empty() ? "list" : words[0];
  if (verb != "list" && verb != "show" && verb != "resolve") {
    return cl.UsageError("unknown word '" + verb + "' (expected show or resolve)");
  }
  std::optional<std::int64_t> id;
  if (verb != "list") {
    if (words.size() != 2) return cl.UsageError(verb + " needs a conflict ID");
    id = ParseId(words[1]);
    if (!id) return cl.UsageError("'" + words[1] + "' is not a conflict ID (a positive number)");
  }
  if (verb == "resolve" && take.empty()) return cl.UsageError("resolve needs --take local|server|FILE");
  if (verb != "resolve" && !take.empty()) return cl.UsageError("--take goes with resolve");

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (verb == "list") {
    StatusOr<std::vector<ConflictRecord>> list =
        (*node)->store().ListConflicts(all ? "" : kConflictOpen, 100000);
    if (!list.ok()) return cl.Fail(list.status());
    if (json) {
      JsonOutput out;
      out.StartArray();
      for (const ConflictRecord& c : *list) {
        out.StartObject();
        WriteConflictFields(out, c, false);
        out.EndObject();
      }
      out.EndArray();
      out.Print();
      return kExitOk;
    }
    if (list->empty()) std::cout << (all ? "no conflicts\n" : "no open conflicts\n");
    for (const ConflictRecord& c : *list) {
      std::cout << PadNumber(c.conflict_id, 5) << "  " << Pad(c.status, 8) << "  "
                << Pad(c.type + "/" + c.id, 40) << "  base v" << c.base_version << ", local v"
                << c.local_version << ", server " << (c.remote_version.empty() ? "-" : c.remote_version)
                << "  (" << TimeText(c.created_ms) << ")\n       " << ConflictReason(c) << "\n";
    }
    return kExitOk;
  }
  if (verb == "show") {
    StatusOr<ConflictRecord> c = (*node)->store().GetConflict(*id);
    if (!c.ok()) return cl.Fail(c.status());
    if (json) {
      JsonOutput out;
      out.StartObject();
      WriteConflictFields(out, *c, true);
      out.EndObject();
      out.Print();
      return kExitOk;
    }
    std::cout << "conflict " << c->conflict_id << " on " << c->type << "/" << c->id << " ("
              << c->status << ")\n"
              << "reason: " << ConflictReason(*c) << "\n"
              << "base (local v" << c->base_version << "):\n  "
              << (c->base_body.empty() ? "(none)" : c->base_body) << "\n"
              << "local (v" << c->local_version << "):\n  " << c->local_body << "\n"
              << "server (version " << c->remote_version << "):\n  "
              << (c->remote_body.empty() ? "(deleted)" : c->remote_body) << "\n";
    return kExitOk;
  }
  ConflictChoice choice = ConflictChoice::kBody;
  std::string body;
  if (take == "local") {
    choice = ConflictChoice::kLocal;
  } else if (take == "server") {
    choice = ConflictChoice::kServer;
  } else {
    StatusOr<std::string> file = ReadBody(take, (*node)->config().store.max_body_bytes);
    if (!file.ok()) return cl.Fail(file.status());
    body = *std::move(file);
  }
  std::unique_ptr<PushOperations> ops = (*node)->OperatorActions();
  StatusOr<OperatorActionResult> done = ops->Resolve(*id, choice, body, "");
  if (!done.ok()) return cl.Fail(done.status());
  PrintOperatorResult(*done, json, *id);
  return kExitOk;
}

}  // namespace

extern const Command kConflictsCommand = {"conflicts", "list, show and resolve conflicts", kHelp,
                                          &RunConflicts};

}  // namespace fhirsync::cli
