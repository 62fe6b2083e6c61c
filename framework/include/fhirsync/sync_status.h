// SyncStatus: a node's sync state explained in words a facility's data
// manager understands, each problem with the command that mends it (what
// `fhirsync status` prints).
//
// BuildSyncStatus() is pure: it turns what the store recorded (gathered
// into SyncObservations by the caller) into the report, so the wording and
// the decisions are tested without a network or a store.
//
// Thread safety: plain values and a pure function.

#ifndef FHIRSYNC_SYNC_STATUS_H_
#define FHIRSYNC_SYNC_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fhirsync {

// One dead-lettered or pending outbox item, as status needs it.
struct ObservedItem {
  std::int64_t seq = 0;
  std::string type;
  std::string id;
  std::string outcome;  // the class: "business-rule", "invalid", "transient", ...
  int http_status = 0;
  std::string message;
  std::int64_t at_ms = 0;  // when the change was made
  std::int64_t next_attempt_ms = 0;
  int attempts = 0;
};

struct SyncObservations {
  std::string node_dir = ".";  // put into the commands
  std::string parent_url;      // empty: no parent
  std::string parent_node_id;
  // How this node signs in to the parent (parent.auth: "basic", "bearer",
  // "smart", "none"; empty is basic), so the fix names the right keys.
  std::string parent_auth;
  // The parent is reached only through transport plugins (parent.url is not
  // http(s)://, see parent_identity.h): its node id is the configured one.
  bool parent_through_plugins = false;
  // Such a parent's node id is not configured (parent.node_id), so its feed
  // cannot be read.
  bool parent_node_id_needed = false;
  std::int64_t now_ms = 0;
  // Last time the parent answered anything (a pull page, a push answer).
  std::optional<std::int64_t> last_contact_ms;
  std::optional<std::int64_t> last_pull_ms;  // last pull that completed
  // What the parent's feed holds that this node has not pulled: known only
  // when the parent could be asked.
  std::optional<std::int64_t> pull_lag_changes;
  std::optional<std::int64_t> pull_lag_ms;  // age of the oldest of them
  // The parent's feed was not read to its end within the time allowed:
  // pull_lag_changes is a lower bound.
  bool pull_lag_at_least = false;
  std::string parent_unreachable;  // why the parent could not be asked now
  std::vector<ObservedItem> pending;
  std::vector<ObservedItem> dead;
  std::int64_t open_conflicts = 0;
  std::vector<std::string> conflict_keys;  // "Patient/x" of the newest few
  std::string auth_trouble;  // non-empty: pushing is paused by a 401/403
  // Non-empty: the parent refused this node's credentials just now (401/403
  // when asked for its changes), whether or not pushing is paused.
  std::string parent_refuses;
};

struct SyncProblem {
  std::string code;     // "dead-letters", "conflicts", "auth", "pending", "pull-lag", ...
  std::string words;    // what it means, in plain words
  std::string command;  // what mends it
};

struct DeadLetterClass {
  std::string outcome;  // "business-rule", ...
  std::int64_t count = 0;
  ObservedItem newest;
};

struct SyncStatusReport {
  bool has_parent = false;
  bool in_sync = false;  // no problem at all
  std::vector<DeadLetterClass> dead_letters;  // by class, largest first
  std::vector<SyncProblem> problems;          // most urgent first
  std::vector<std::string> lines;             // the screen, one line each
};

SyncStatusReport BuildSyncStatus(const SyncObservations& observed);

// "3 minutes", "2 hours", "1 day" (rounded down).
std::string DescribeDuration(std::int64_t ms);
// "3 minutes ago", "2 hours ago", "never".
std::string DescribeAge(std::optional<std::int64_t> then_ms, std::int64_t now_ms);

}  // namespace fhirsync

#endif  // FHIRSYNC_SYNC_STATUS_H_
