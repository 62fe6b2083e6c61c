// fhirsync changes: prints the node's change feed.

#include <algorithm>
#include <iostream>
#include <vector>

#include "command.h"
#include "fhirsync/base/text_util.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync changes [--since SEQ] [--limit N] [--type T,..] [--json] [--dir D]\n"
    "\n"
    "Prints the node's change feed in order: every write has one entry with its\n"
    "sequence number, action (CREATED, UPDATED, DELETED), resource, version, time\n"
    "and the node it came from. To page through, pass the last seq printed as\n"
    "--since of the next call (JSON output gives it as next_since).\n"
    "\n"
    "  --since SEQ   only changes after SEQ (default 0: from the start)\n"
    "  --limit N     at most N changes (default 1000)\n"
    "  --type T,..   only these resource types (comma-separated)\n"
    "  --json        print {changes: [{seq, action, type, id, version, at, origin,\n"
    "                content_hash}], next_since}\n"
    "  --dir D       the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunChanges(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::int64_t since = 0;
  std::int64_t limit = 1000;
  std::string types;
  bool json = false;
  cl.flags().AddInt("since", "SEQ", &since, 0);
  cl.flags().AddInt("limit", "N", &limit, 1, 1000000);
  cl.flags().AddString("type", "T,..", &types);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;

  ChangeQuery query;
  query.after_seq = since;
  query.limit = limit;
  query.types = SplitList(types);
  if (cl.Seen("type") && query.types.empty()) return cl.UsageError("--type: no type given");

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<std::vector<Change>> changes = (*node)->store().Changes(query);
  if (!changes.ok()) return cl.Fail(changes.status());
  const std::int64_t next_since = changes->empty() ? since : changes->back().seq;

  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Key("changes");
    out.StartArray();
    for (const Change& c : *changes) {
      out.StartObject();
      out.Field("seq", c.seq);
      out.Field("action", ChangeActionName(c.action));
      out.Field("type", c.resource.type);
      out.Field("id", c.resource.id);
      out.Field("version", c.resource.version);
      out.Field("at", TimeText(c.resource.last_updated_ms));
      out.Field("origin", c.origin);
      out.Field("content_hash", c.resource.content_hash);
      out.EndObject();
    }
    out.EndArray();
    out.Field("next_since", next_since);
    out.EndObject();
    out.Print();
    return kExitOk;
  }
  // Columns as wide as their widest cell, so long ids never run together.
  std::vector<std::vector<std::string>> rows = {{"seq", "action", "resource", "version", "at"}};
  for (const Change& c : *changes) {
    rows.push_back({std::to_string(c.seq), std::string(ChangeActionName(c.action)), c.resource.Key(),
                    std::to_string(c.resource.version), TimeText(c.resource.last_updated_ms)});
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t i = 0; i < rows[r].size(); ++i) std::cout << Pad(rows[r][i], widths[i] + 2);
    std::cout << (r == 0 ? std::string("origin") : (*changes)[r - 1].origin) << '\n';
  }
  std::cout << changes->size() << (changes->size() == 1 ? " change" : " changes");
  if (static_cast<std::int64_t>(changes->size()) == limit) {
    std::cout << " (more may follow: --since " << next_since << ")";
  }
  std::cout << '\n';
  return kExitOk;
}

}  // namespace

extern const Command kChangesCommand = {"changes", "print the node's change feed", kHelp,
                                        &RunChanges};

}  // namespace fhirsync::cli
