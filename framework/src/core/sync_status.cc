// BuildSyncStatus (see fhirsync/sync_status.h).

#include "fhirsync/sync_status.h"

#include <algorithm>
#include <map>

namespace fhirsync {
namespace {

std::string Plural(std::int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// What a dead-letter class means to a data manager.
std::string ExplainClass(const std::string& outcome) {
  if (outcome == "business-rule") return "the parent refused them under one of its rules";
  if (outcome == "invalid") return "the parent found them invalid";
  if (outcome == "configuration") {
    return "this node's own configuration has no plugin that carries them (nothing was sent)";
  }
  if (outcome == "conflict") return "someone else changed the same records";
  if (outcome == "gone") return "the parent has deleted these records";
  if (outcome == "not-found") return "the parent does not know these records";
  if (outcome == "transient") return "the parent kept failing to answer";
  return "the parent refused them";
}

}  // namespace

std::string DescribeDuration(std::int64_t ms) {
  const std::int64_t seconds = std::max<std::int64_t>(0, ms / 1000);
  if (seconds < 60) return Plural(seconds, "second", "seconds");
  if (seconds < 3600) return Plural(seconds / 60, "minute", "minutes");
  if (seconds < 86400) return Plural(seconds / 3600, "hour", "hours");
  return Plural(seconds / 86400, "day", "days");
}

std::string DescribeAge(std::optional<std::int64_t> then_ms, std::int64_t now_ms) {
  if (!then_ms.has_value() || *then_ms <= 0) return "never";
  return DescribeDuration(now_ms - *then_ms) + " ago";
}

SyncStatusReport BuildSyncStatus(const SyncObservations& o) {
  SyncStatusReport report;
  report.has_parent = !o.parent_url.empty();
  const std::string dir = " --dir " + o.node_dir;
  auto line = [&](std::string text) { report.lines.push_back(std::move(text)); };

  if (!report.has_parent) {
    line("This node has no parent: it keeps its records for itself and its children.");
  } else {
    std::string about;
    if (!o.parent_node_id.empty()) about = "node " + o.parent_node_id;
    if (o.parent_through_plugins) {
      about += std::string(about.empty() ? "" : ", ") + "reached through the plugins";
    }
    line("Parent: " + o.parent_url + (about.empty() ? "" : " (" + about + ")") +
         "; last reached " + DescribeAge(o.last_contact_ms, o.now_ms) + ".");
    std::string pull = "Records from the parent: last brought in " +
                       DescribeAge(o.last_pull_ms, o.now_ms);
    if (o.pull_lag_changes.has_value()) {
      pull += *o.pull_lag_changes == 0
                  ? "; nothing new is waiting on the parent."
                  : "; " + std::string(o.pull_lag_at_least ? "at least " : "") +
                        Plural(*o.pull_lag_changes, "change", "changes") +
                        " on the parent not yet here" +
                        (o.pull_lag_ms.has_value()
                             ? " (about " + DescribeDuration(*o.pull_lag_ms) + " behind)"
                             : "") +
                        ".";
    } else if (!o.parent_unreachable.empty()) {
      pull += "; the parent cannot be asked right now (" + o.parent_unreachable + ").";
    } else {
      pull += ".";
    }
    line(pull);
  }

  // Most urgent first: authentication stops everything, then refused
  // changes, conflicts, then what is merely waiting.
  const std::string keys = o.parent_auth == "bearer" ? "parent.token_file"
                           : o.parent_auth == "smart"
                               ? "parent.client_id / parent.key_file / parent.scope (and the "
                                 "client's registration at the parent)"
                           : o.parent_auth == "none"
                               ? "parent.auth (the parent wants credentials)"
                               : "parent.user / parent.password_file";
  const std::string fix_credentials = "fix " + keys + " in " + o.node_dir + "/fhirsync.json";
  if (!o.auth_trouble.empty()) {
    report.problems.push_back(
        {"auth",
         "The parent does not accept this node's user name or password, so sending is paused "
         "(nothing is lost): " + o.auth_trouble,
         fix_credentials + ", then: fhirsync sync" + dir + " --push --once"});
  } else if (!o.parent_refuses.empty()) {
    report.problems.push_back(
        {"auth",
         "The parent refuses this node's user name or password, so nothing can be brought "
         "in or sent until that is fixed (nothing is lost): " + o.parent_refuses,
         fix_credentials + ", then: fhirsync sync" + dir + " --once"});
  }
  std::map<std::string, DeadLetterClass> classes;
  for (const ObservedItem& item : o.dead) {
    DeadLetterClass& c = classes[item.outcome];
    c.outcome = item.outcome;
    ++c.count;
    if (c.count == 1 || item.seq > c.newest.seq) c.newest = item;
  }
  for (auto& [name, c] : classes) report.dead_letters.push_back(c);
  std::sort(report.dead_letters.begin(), report.dead_letters.end(),
            [](const DeadLetterClass& a, const DeadLetterClass& b) { return a.count > b.count; });
  for (const DeadLetterClass& c : report.dead_letters) {
    std::string words = Plural(c.count, "change was", "changes were") + " not accepted: " +
                        ExplainClass(c.outcome) + ". Newest: " + c.newest.type + "/" +
                        c.newest.id;
    if (c.newest.http_status != 0) words += " (HTTP " + std::to_string(c.newest.http_status) + ")";
    if (!c.newest.message.empty()) words += ": \"" + c.newest.message + "\"";
    words += ". They stay here until someone acts; a pull does not overwrite them.";
    if (c.outcome == "configuration") {
      // The record is fine; the node is not set up to send it.
      report.problems.push_back(
          {"dead-letters", words,
           "add a plugin that carries " + c.newest.type + " to plugins.load or route it in "
           "plugins.routes (fhirsync config set" + dir + " KEY VALUE; fhirsync plugins" + dir +
               " shows the routing table), then fhirsync retry" + dir + " --all"});
      continue;
    }
    report.problems.push_back(
        {"dead-letters", words,
         "correct the record (fhirsync put" + dir + "), then fhirsync retry" + dir + " " +
             std::to_string(c.newest.seq) + "; or keep the parent's copy: fhirsync discard" +
             dir + " " + std::to_string(c.newest.seq) + "; all items: fhirsync outbox" + dir});
  }
  if (o.open_conflicts > 0) {
    std::string words = Plural(o.open_conflicts, "record was", "records were") +
                        " changed both here and on the parent in ways that could not be "
                        "merged";
    if (!o.conflict_keys.empty()) words += " (e.g. " + o.conflict_keys.front() + ")";
    words += "; both versions are kept.";
    report.problems.push_back(
        {"conflicts", words,
         "fhirsync conflicts" + dir + ", then fhirsync conflicts resolve ID --take "
                                      "local|server|FILE" + dir});
  }
  if (!o.pending.empty()) {
    std::int64_t oldest = o.pending.front().at_ms;
    for (const ObservedItem& item : o.pending) oldest = std::min(oldest, item.at_ms);
    report.problems.push_back(
        {"pending",
         Plural(static_cast<std::int64_t>(o.pending.size()), "change made here is",
                "changes made here are") +
             " waiting to be sent to the parent (the oldest made " +
             DescribeAge(oldest, o.now_ms) + ").",
         "fhirsync sync" + dir + " --push --once"});
  }
  if (o.pull_lag_changes.has_value() && *o.pull_lag_changes > 0) {
    report.problems.push_back(
        {"pull-lag",
         "The parent holds " + std::string(o.pull_lag_at_least ? "at least " : "") +
             Plural(*o.pull_lag_changes, "change", "changes") +
             " this node has not brought in yet.",
         "fhirsync sync" + dir + " --pull --once"});
  }
  if (report.has_parent && !o.parent_unreachable.empty() && o.parent_refuses.empty()) {
    std::string mend;
    if (o.parent_node_id_needed) {
      mend = "fhirsync config set" + dir + " parent.node_id ID";
    } else if (o.parent_through_plugins) {
      mend = "check parent.url and the plugins' options (plugins.load in fhirsync.json; is a "
             "folder not mounted?), then: fhirsync sync" + dir + " --once";
    } else {
      mend = "check the network and parent.url, then: fhirsync sync" + dir + " --once";
    }
    report.problems.push_back({"parent-unreachable",
                               "The parent cannot be reached now: " + o.parent_unreachable +
                                   ". Work continues here and is sent when it is back.",
                               mend});
  }

  report.in_sync = report.problems.empty();
  if (report.in_sync) {
    line(report.has_parent ? "Everything is in step with the parent." : "Nothing is waiting.");
  } else {
    line(Plural(static_cast<std::int64_t>(report.problems.size()), "thing needs",
                "things need") +
         " attention:");
    for (const SyncProblem& p : report.problems) {
      line("  * " + p.words);
      line("    mend: " + p.command);
    }
  }
  return report;
}

}  // namespace fhirsync
