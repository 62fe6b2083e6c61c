// fhirsync get: prints one resource (its current or a given version).

#include <iostream>

#include "command.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync get TYPE/ID [--version N] [--json] [--dir D]\n"
    "\n"
    "Prints the body of resource TYPE/ID as stored (FHIR bodies carry this node's\n"
    "meta.versionId and meta.lastUpdated). A deleted resource (or a --version that\n"
    "is a deletion) prints 'TYPE/ID is deleted' on stderr and exits with 1.\n"
    "\n"
    "  --version N   that version instead of the current one\n"
    "  --json        print {type, id, version, last_updated, deleted, format,\n"
    "                content_hash, resource} (resource left out when deleted)\n"
    "  --dir D       the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunGet(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::int64_t version = 0;
  bool json = false;
  cl.flags().AddInt("version", "N", &version, 1);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, 1)) return *exit;
  StatusOr<ResourceKey> key = ParseResourceKey(cl.positional()[0]);
  if (!key.ok()) return cl.UsageError(key.status().message());

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<Resource> resource = cl.Seen("version")
                                    ? (*node)->store().GetVersion(key->type, key->id, version)
                                    : (*node)->store().Get(key->type, key->id);
  if (!resource.ok()) return cl.Fail(resource.status());

  if (json) {
    JsonOutput out;
    out.StartObject();
    WriteResourceFields(out, *resource, /*with_body=*/true);
    out.EndObject();
    out.Print();
  } else if (!resource->deleted) {
    std::cout << resource->body << '\n';
  }
  if (resource->deleted) {
    return cl.Fail(NotFoundError(resource->Key() + " is deleted (version " +
                                 std::to_string(resource->version) + " at " +
                                 TimeText(resource->last_updated_ms) + ")"));
  }
  return kExitOk;
}

}  // namespace

extern const Command kGetCommand = {"get", "print a resource (or one of its versions)", kHelp,
                                    &RunGet};

}  // namespace fhirsync::cli
