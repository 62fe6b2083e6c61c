// fhirsync status: the node's sync state explained, each problem with the
// command that mends it (Node::GetStatus: ObserveSync gathers,
// BuildSyncStatus explains).

#include <chrono>
#include <iostream>
#include <optional>
#include <string>

#include "command.h"
#include "fhirsync/node.h"
#include "fhirsync/sync_status.h"
#include "fhirsync/net/io_watchdog.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync status [--json] [--timeout S] [--dir D]\n"
    "\n"
    "Explains this node's sync state in plain words: its parent and when it was\n"
    "last reached; how far behind the parent's change feed it is (in changes and\n"
    "in time); changes made here still waiting to be sent; changes the parent did\n"
    "not accept (dead letters), by class with the newest message of each; records\n"
    "changed on both sides that wait for a decision (conflicts); and whether the\n"
    "parent refuses this node's credentials (sending is then paused). Each problem\n"
    "comes with the command that mends it.\n"
    "\n"
    "The parent is asked for its feed with a short time limit; when it cannot be\n"
    "reached, status says so and why, and reports what the store knows. A parent\n"
    "reached only through plugins (parent.url not http:// or https://, e.g. the\n"
    "folder plugin's file:///media/usb) is read through them under parent.node_id.\n"
    "\n"
    "  --json        print one object: {node_id, in_sync, parent: {url, node_id,\n"
    "                reached_through (http or plugins), reachable,\n"
    "                unreachable_reason}, last_contact, last_pull,\n"
    "                lag: {changes, at_least, behind_ms} (null when the parent\n"
    "                could not be asked), pending: {count, oldest_at}, dead_letters:\n"
    "                [{class, count, newest: {seq, type, id, http_status, message,\n"
    "                changed_at}}], conflicts: {open, examples}, auth: {push_paused,\n"
    "                message, parent_refuses}, problems: [{code, words, command}],\n"
    "                lines}\n"
    "  --timeout S   seconds the parent may take to answer, all requests together\n"
    "                (default 5; a parent that answers slower is reported as not\n"
    "                answering; 0: do not ask it, report only what the store knows)\n"
    "  --dir D       the node folder (default: $FHIRSYNC_DIR or .)\n"
    "\n"
    "Exit status: 0 when everything is in step (nothing waiting, refused or in\n"
    "conflict, and the parent reached with nothing new), 1 when not (or on an\n"
    "error), 2 for a usage error.\n";

void OptionalTime(JsonOutput& out, std::string_view key, std::optional<std::int64_t> ms) {
  out.Key(key);
  if (ms.has_value()) {
    out.String(TimeText(*ms));
  } else {
    out.Null();
  }
}

void PrintJson(const std::string& node_id, const SyncObservations& o,
               const SyncStatusReport& report) {
  JsonOutput out;
  out.StartObject();
  out.Field("node_id", node_id);
  out.Field("in_sync", report.in_sync);
  out.Key("parent");
  if (!report.has_parent) {
    out.Null();
  } else {
    out.StartObject();
    out.Field("url", o.parent_url);
    out.Field("node_id", o.parent_node_id);
    out.Field("reached_through", o.parent_through_plugins ? "plugins" : "http");
    out.Field("reachable", o.parent_unreachable.empty());
    out.Field("unreachable_reason", o.parent_unreachable);
    out.EndObject();
  }
  OptionalTime(out, "last_contact", o.last_contact_ms);
  OptionalTime(out, "last_pull", o.last_pull_ms);
  out.Key("lag");
  if (!o.pull_lag_changes.has_value()) {
    out.Null();
  } else {
    out.StartObject();
    out.Field("changes", *o.pull_lag_changes);
    out.Field("at_least", o.pull_lag_at_least);
    out.Key("behind_ms");
    if (o.pull_lag_ms.has_value()) {
      out.Int(*o.pull_lag_ms);
    } else {
      out.Null();
    }
    out.EndObject();
  }
  out.Key("pending");
  out.StartObject();
  out.Field("count", static_cast<std::int64_t>(o.pending.size()));
  std::optional<std::int64_t> oldest;
  for (const ObservedItem& item : o.pending) {
    if (!oldest || item.at_ms < *oldest) oldest = item.at_ms;
  }
  OptionalTime(out, "oldest_at", oldest);
  out.EndObject();
  out.Key("dead_letters");
  out.StartArray();
  for (const DeadLetterClass& c : report.dead_letters) {
    out.StartObject();
    out.Field("class", c.outcome);
    out.Field("count", c.count);
    out.Key("newest");
    out.StartObject();
    out.Field("seq", c.newest.seq);
    out.Field("type", c.newest.type);
    out.Field("id", c.newest.id);
    out.Field("http_status", c.newest.http_status);
    out.Field("message", c.newest.message);
    out.Field("changed_at", TimeText(c.newest.at_ms));
    out.EndObject();
    out.EndObject();
  }
  out.EndArray();
  out.Key("conflicts");
  out.StartObject();
  out.Field("open", o.open_conflicts);
  out.Key("examples");
  out.StartArray();
  for (const std::string& key : o.conflict_keys) out.String(key);
  out.EndArray();
  out.EndObject();
  out.Key("auth");
  out.StartObject();
  out.Field("push_paused", !o.auth_trouble.empty());
  out.Field("message", o.auth_trouble);
  out.Field("parent_refuses", o.parent_refuses);
  out.EndObject();
  out.Key("problems");
  out.StartArray();
  for (const SyncProblem& p : report.problems) {
    out.StartObject();
    out.Field("code", p.code);
    out.Field("words", p.words);
    out.Field("command", p.command);
    out.EndObject();
  }
  out.EndArray();
  out.Key("lines");
  out.StartArray();
  for (const std::string& line : report.lines) out.String(line);
  out.EndArray();
  out.EndObject();
  out.Print();
}

int RunStatus(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  std::int64_t timeout_seconds = 5;
  cl.flags().AddBool("json", &json);
  cl.flags().AddInt("timeout", "S", &timeout_seconds, 0, 600);
  if (auto exit = cl.Parse(0, 0)) return *exit;

  // A hard bound on every request to the parent, together: each is cut off
  // when the time is up (the parent is then reported as not answering).
  if (timeout_seconds > 0) {
    net::SetRemoteCallDeadline(net::Clock::now() + std::chrono::seconds(timeout_seconds));
  }
  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  StatusOr<NodeStatus> status = (*node)->GetStatus(static_cast<int>(timeout_seconds * 1000));
  if (!status.ok()) return cl.Fail(status.status());
  const SyncStatusReport& report = status->report;
  const std::string node_id = (*node)->config().node_id;
  if (json) {
    PrintJson(node_id, status->observed, report);
  } else {
    std::cout << "Node " << node_id << " (" << cl.dir() << ")\n";
    for (const std::string& line : report.lines) std::cout << line << '\n';
  }
  return report.in_sync ? kExitOk : kExitFailure;
}

}  // namespace

extern const Command kStatusCommand = {"status", "explain the node's sync state and how to mend it",
                                       kHelp, &RunStatus};

}  // namespace fhirsync::cli
