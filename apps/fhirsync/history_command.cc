// fhirsync history: lists every version of one resource.

#include <iostream>

#include "command.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync history TYPE/ID [--json] [--dir D]\n"
    "\n"
    "Lists every version this node holds of TYPE/ID, newest first: version, time,\n"
    "whether it is a deletion, and the content hash (the same on every node that\n"
    "holds the same content).\n"
    "\n"
    "  --json    print {type, id, versions: [{version, last_updated, deleted, format,\n"
    "            content_hash, resource}]} (resource left out for deletions)\n"
    "  --dir D   the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunHistory(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, 1)) return *exit;
  StatusOr<ResourceKey> key = ParseResourceKey(cl.positional()[0]);
  if (!key.ok()) return cl.UsageError(key.status().message());

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<std::vector<Resource>> versions = (*node)->store().History(key->type, key->id);
  if (!versions.ok()) return cl.Fail(versions.status());

  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("type", key->type);
    out.Field("id", key->id);
    out.Key("versions");
    out.StartArray();
    for (const Resource& r : *versions) {
      out.StartObject();
      out.Field("version", r.version);
      out.Field("last_updated", TimeText(r.last_updated_ms));
      out.Field("deleted", r.deleted);
      out.Field("format", ResourceFormatName(r.format));
      out.Field("content_hash", r.content_hash);
      if (!r.deleted) {
        out.Key("resource");
        out.Raw(r.body);
      }
      out.EndObject();
    }
    out.EndArray();
    out.EndObject();
    out.Print();
    return kExitOk;
  }
  std::cout << key->type << '/' << key->id << ": " << versions->size()
            << (versions->size() == 1 ? " version\n" : " versions\n");
  std::cout << "version  " << Pad("last updated", 26) << Pad("state", 9) << "content hash\n";
  for (const Resource& r : *versions) {
    std::cout << PadNumber(r.version, 7) << "  " << Pad(TimeText(r.last_updated_ms), 26)
              << Pad(r.deleted ? "deleted" : "stored", 9) << r.content_hash << '\n';
  }
  return kExitOk;
}

}  // namespace

extern const Command kHistoryCommand = {"history", "list every version of a resource", kHelp,
                                        &RunHistory};

}  // namespace fhirsync::cli
