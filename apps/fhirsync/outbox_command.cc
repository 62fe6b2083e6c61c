// fhirsync outbox: what waits to be pushed, and what failed.

#include <iostream>
#include <map>
#include <string>

#include "command.h"
#include "node.h"
#include "output.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync outbox [--all] [--json] [--dir D]\n"
    "\n"
    "Lists the node's pending and dead-lettered outbox items, oldest first: seq,\n"
    "resource, version, state, the class of the last answer (transient, conflict,\n"
    "business-rule, invalid, not-found, gone, auth; configuration: no plugin of\n"
    "this node carries the type, so it was not sent), its HTTP status and message,\n"
    "attempts and the next attempt time. A dead letter holds back only later changes\n"
    "of the same resource; mend it with `fhirsync retry`, `fhirsync discard` or\n"
    "`fhirsync conflicts resolve`. Also says when pushing is paused (401/403).\n"
    "\n"
    "  --all     every item, also sent, discarded and replaced ones\n"
    "  --json    print {paused, pause_message, items: [{seq, type, id, version,\n"
    "            action, state, class, http_status, message, attempts,\n"
    "            next_attempt, correlation_id, ...}]}\n"
    "  --dir D   the node folder (default: $FHIRSYNC_DIR or .)\n";

int RunOutbox(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  bool all = false;
  cl.flags().AddBool("json", &json);
  cl.flags().AddBool("all", &all);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  OutboxQuery query;
  if (!all) query.states = {kOutboxPending, kOutboxDead};
  query.limit = 1000000;
  StatusOr<std::vector<OutboxItem>> items = (*node)->store().ListOutbox(query);
  if (!items.ok()) return cl.Fail(items.status());
  StatusOr<std::string> pause = (*node)->store().PushPause();
  if (!pause.ok()) return cl.Fail(pause.status());
  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("paused", !pause->empty());
    out.Field("pause_message", *pause);
    out.Key("items");
    out.StartArray();
    for (const OutboxItem& item : *items) {
      out.StartObject();
      WriteOutboxItemFields(out, item);
      out.EndObject();
    }
    out.EndArray();
    out.EndObject();
    out.Print();
    return kExitOk;
  }
  if (!pause->empty()) std::cout << "pushing is PAUSED: " << *pause << "\n";
  if (items->empty()) {
    std::cout << "outbox is empty\n";
    return kExitOk;
  }
  std::cout << "   seq  state    class          http  tries  "
            << "resource                              message\n";
  // A dead letter holds back later changes of its resource: say so beside
  // them, so a corrected edit is seen to wait for `fhirsync retry`.
  std::map<std::string, std::int64_t> dead_by_resource;
  for (const OutboxItem& item : *items) {
    std::string waits_for;
    const std::string key = item.type + "/" + item.id;
    if (item.state == kOutboxDead) {
      dead_by_resource.emplace(key, item.seq);
    } else if (auto dead = dead_by_resource.find(key); dead != dead_by_resource.end()) {
      waits_for = " (waits behind dead letter " + std::to_string(dead->second) +
                  ": `fhirsync retry " + std::to_string(dead->second) + "` sends it)";
    }
    std::cout << PadNumber(item.seq, 6) << "  " << Pad(item.state, 7) << "  "
              << Pad(item.outcome.empty() ? "-" : item.outcome, 13) << "  "
              << PadNumber(item.last_http_status, 4) << "  " << PadNumber(item.attempts, 5) << "  "
              << Pad(item.type + "/" + item.id + " v" + std::to_string(item.version), 36) << "  "
              << item.message;
    if (item.state == kOutboxPending && item.next_attempt_ms > 0) {
      std::cout << " (next attempt " << TimeText(item.next_attempt_ms) << ")";
    }
    std::cout << waits_for << '\n';
  }
  return kExitOk;
}

}  // namespace

extern const Command kOutboxCommand = {"outbox", "list pending and dead-lettered pushes", kHelp,
                                       &RunOutbox};

}  // namespace fhirsync::cli
