// fhirsync delete: deletes one resource (a tombstone version).

#include <iostream>
#include <optional>

#include "command.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync delete TYPE/ID [--if-match N] [--json] [--dir D]\n"
    "\n"
    "Deletes resource TYPE/ID. The deletion is a version of its own (a tombstone)\n"
    "with its change-feed and outbox rows, so it reaches the parent like any edit.\n"
    "Deleting a deleted resource changes nothing; a resource that never existed is\n"
    "an error.\n"
    "\n"
    "  --if-match N   delete only if the current version is N; otherwise fail with\n"
    "                 exit status 3 (conflict)\n"
    "  --json         print the outcome as JSON\n"
    "  --dir D        the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunDelete(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::int64_t if_match = 0;
  bool json = false;
  cl.flags().AddInt("if-match", "N", &if_match, 0);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, 1)) return *exit;
  StatusOr<ResourceKey> key = ParseResourceKey(cl.positional()[0]);
  if (!key.ok()) return cl.UsageError(key.status().message());

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  std::optional<std::int64_t> expected;
  if (cl.Seen("if-match")) expected = if_match;
  StatusOr<WriteResult> result = (*node)->store().Delete(key->type, key->id, {}, expected);
  if (!result.ok()) return cl.Fail(result.status());

  if (json) {
    JsonOutput out;
    out.StartObject();
    WriteWriteResultFields(out, *result);
    out.EndObject();
    out.Print();
  } else {
    std::cout << result->type << '/' << result->id
              << (result->changed ? " deleted (version " : " was already deleted (version ")
              << result->version << ")\n";
  }
  return kExitOk;
}

}  // namespace

extern const Command kDeleteCommand = {"delete", "delete a resource (a tombstone version)", kHelp,
                                       &RunDelete};

}  // namespace fhirsync::cli
