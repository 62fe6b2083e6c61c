// PushOperations: the operator's actions on what pushing left behind
// (architecture §5), shared by the `fhirsync` verbs and the admin HTTP API:
//   Retry     re-queue a dead letter (and the later items of its resource);
//             `force` sends it without If-Match, overwriting the server copy
//   Discard   "leave server version": drop the resource's queued items AND
//             restore the parent's copy locally; the discarded body is kept
//             in the audit row
//   Resolve   settle a recorded conflict by taking the local version, the
//             server's, or a merged body the operator wrote
//   Resubmit  re-queue local resources changed in a time range that the
//             parent lacks or holds differently (compared by content hash,
//             read from the parent in batches)
// Every action is one store transaction together with its audit row.
// Permission checks (admin for force and resubmit) are the caller's: the
// CLI checks credentials, the server the request's role.
//
// Thread safety: as LocalStore; borrows the store and the routing table.

#ifndef FHIRSYNC_PUSH_OPERATIONS_H_
#define FHIRSYNC_PUSH_OPERATIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {

struct OperatorActionResult {
  std::vector<std::int64_t> requeued;   // outbox seqs now pending again
  std::vector<std::int64_t> discarded;  // outbox seqs dropped
  std::int64_t local_version = 0;       // the local version the action left current
  std::string message;                  // one line for the operator
};

struct ResubmitReport {
  std::int64_t checked = 0;    // local resources in the range
  std::int64_t requeued = 0;   // the parent lacked them or held them differently
  std::int64_t same = 0;       // the parent holds the same content
  // Resources that differ but whose current version came from the parent
  // (there is no local change to send): named for the operator.
  std::vector<std::string> not_local;
};

enum class ConflictChoice { kLocal, kServer, kBody };

class PushOperations {
 public:
  // `routes` may be null: then Discard() and Resubmit(), which read from the
  // parent, fail with FailedPrecondition. `parent_node_id` is the origin of
  // server copies written locally.
  PushOperations(LocalStore* store, const SyncResourceManager* routes,
                 std::string parent_node_id);

  // Re-queues item `seq` (dead or pending) and every other pending or dead
  // item of its resource, due at once. NotFound for an unknown seq;
  // FailedPrecondition for an item already sent, discarded or replaced.
  // Also lifts a push pause.
  StatusOr<OperatorActionResult> Retry(std::int64_t seq, bool force, const std::string& actor);
  // Retry() for every dead item (and lifts a pause). Never fails for an
  // empty queue.
  StatusOr<OperatorActionResult> RetryAll(bool force, const std::string& actor);
  // Reads the parent's copy and restores it locally (a deletion when the
  // parent has none), dropping the resource's pending and dead items.
  // Unavailable (nothing changed) when the parent cannot be read.
  StatusOr<OperatorActionResult> Discard(std::int64_t seq, const std::string& actor);
  // Settles open conflict `conflict_id` with the server copy recorded in it
  // (no network needed), or queues the local / given body to be sent with
  // If-Match of that server version. InvalidArgument for a bad `body`;
  // FailedPrecondition for a conflict already resolved.
  StatusOr<OperatorActionResult> Resolve(std::int64_t conflict_id, ConflictChoice choice,
                                         const std::string& body, const std::string& actor);
  // See the file comment. [from_ms, to_ms) on last_updated.
  StatusOr<ResubmitReport> Resubmit(std::int64_t from_ms, std::int64_t to_ms,
                                    const std::string& actor);

 private:
  LocalStore* store_;
  const SyncResourceManager* routes_;
  std::string parent_node_id_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_PUSH_OPERATIONS_H_
