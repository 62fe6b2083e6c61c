// SyncPushService: sends this node's outbox to its parent (architecture §1, §5).
//
// Each round takes the due outbox items in seq order, groups the items of
// one resource (they go together, as the newest version, so an older
// version can never overwrite a newer one), routes each resource through
// SyncResourceManager, sends updates guarded by If-Match (the remote
// version agreed in sync_state) and creates (no agreement yet) as
// TransportPlugin::Create, which must not replace a resource the remote
// already holds (FHIR: If-None-Match: *), in batches where the transport can
// (TransportPlugin::WriteMany), classifies every answer as in the table of
// architecture §5 and records the outcome, its sync_state and its audit rows in
// one store transaction:
//   2xx          sent; sync_state = the parent's new version
//   409/412      fetch the server copy. Same content as ours (by content
//                hash): sent, sync_state = the server's version, nothing
//                re-sent. Else a three-way merge from the base version
//                (sync_state's local version); a clean merge is written
//                locally (server copy, then the merge, queued with the same
//                correlation id) and sent with If-Match of the server
//                version; otherwise a conflict record + dead letter. A
//                refused create (another node created the same id) has no
//                base: a conflict of our body against the server's
//   422, 400     dead letter with the remote's explanation
//   404          an update is sent again as a create at the same id where
//                the transport creates; a delete counts as done
//   410          dead letter
//   401/403      pushing pauses (persisted; items stay pending)
//   transient    retried with exponential backoff and jitter up to
//                max_attempts, then dead letter; after an ambiguous failure
//                the server copy is read back before anything is re-sent
//                (our content there: sent; a create meeting another copy:
//                a conflict, not a second create)
// A dead letter holds back only later items of the same resource.
//
// Thread safety: one round at a time per service (RunOnce is not
// reentrant); the store and the routing table are shared and thread-safe.
// The service borrows both; they must outlive it.

#ifndef FHIRSYNC_SYNC_PUSH_SERVICE_H_
#define FHIRSYNC_SYNC_PUSH_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fhirsync/local_store.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {

struct PushOptions {
  int batch_size = 500;    // resources per round trip (push.batch_size); 1: one request each
  int max_attempts = 10;   // transient failures before a dead letter (push.max_attempts)
  std::int64_t backoff_base_ms = 1000;     // first retry after about this long
  std::int64_t backoff_max_ms = 15 * 60 * 1000;
  // The parent's node id: the origin of server copies written locally.
  std::string parent_node_id = "parent";
  // Milliseconds since the epoch; tests replace it.
  std::function<std::int64_t()> clock;
  // Whether a round first lifts an auth pause (an operator's explicit push);
  // a daemon leaves a pause in place until an operator acts.
  bool resume_paused = false;
};

// What one or more rounds did.
struct PushReport {
  std::int64_t sent = 0;          // resources the parent accepted
  std::int64_t merged = 0;        // conflicts merged cleanly (then re-sent)
  std::int64_t conflicts = 0;     // real conflicts recorded (dead letters)
  std::int64_t dead_lettered = 0; // all dead letters this run, conflicts included
  std::int64_t retrying = 0;      // transient failures left for a later attempt
  std::int64_t requests = 0;      // round trips to the parent
  bool paused = false;            // pushing is paused (401/403)
  std::string pause_message;
  bool idle = false;              // nothing due is left
};

class SyncPushService {
 public:
  // `store` and `routes` are borrowed.
  SyncPushService(LocalStore* store, const SyncResourceManager* routes, PushOptions options);
  ~SyncPushService();
  SyncPushService(const SyncPushService&) = delete;
  SyncPushService& operator=(const SyncPushService&) = delete;

  // One round: up to batch_size resources. Store errors end the round and
  // are returned (nothing half-recorded: each outcome is one transaction).
  StatusOr<PushReport> RunOnce();
  // Rounds until nothing is due now (items waiting for their backoff stay),
  // pushing is paused, or `max_rounds` rounds ran.
  StatusOr<PushReport> RunUntilIdle(int max_rounds = 1000000);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The outcome class of one answer from the parent to a push or to the read
// that settles one, as in architecture §5. Decisions are taken on this
// type; only its name is stored.
enum class PushOutcome {
  kAccepted,
  kConflict,
  kBusinessRule,
  kInvalid,
  kNotFound,
  kGone,
  kAuth,
  kTransient,
};

// The name stored in outbox rows, dead letters and the audit log:
// "accepted", "conflict", "business-rule", "invalid", "not-found", "gone",
// "auth", "transient". (Dead letters have two more classes that no answer
// gives: "ambiguous", a transient failure after which it is unknown whether
// the write landed, and "configuration", an item no loaded plugin carries,
// dead-lettered without being sent.)
std::string_view PushOutcomeName(PushOutcome outcome);

// HTTP status wins when there is one; otherwise the status code decides.
PushOutcome ClassifyPushAnswer(const Status& status, int http_status);

// The retry delay before attempt `attempt` + 1 (attempt >= 1): base * 2^(attempt-1),
// capped at max, then scaled by a jitter factor in [0.5, 1.0] (`unit` in [0, 1]).
std::int64_t PushBackoffMs(int attempt, std::int64_t base_ms, std::int64_t max_ms, double unit);

}  // namespace fhirsync

#endif  // FHIRSYNC_SYNC_PUSH_SERVICE_H_
