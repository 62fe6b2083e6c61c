// Helpers the push-side verbs share (outbox, retry, discard, resubmit,
// conflicts, audit, sync --push): starting the transports, the admin
// credential check, time flags and the outbox/audit JSON fields.
//
// Thread safety: none needed; the program is single-threaded.

#ifndef FHIRSYNC_APPS_FHIRSYNC_PUSH_CLI_H_
#define FHIRSYNC_APPS_FHIRSYNC_PUSH_CLI_H_

#include <cstdint>
#include <memory>
#include <string>

#include "fhirsync/audit_log.h"
#include "fhirsync/local_store.h"
#include "fhirsync/push_operations.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_push_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "node.h"
#include "output.h"

namespace fhirsync::cli {

// Loads and configures the node's transport plugins. FailedPrecondition
// when the node has no parent (nothing to push to or read from).
StatusOr<std::unique_ptr<SyncResourceManager>> StartTransports(const Node& node);

// The parent's node id as recorded in the config, or "parent" when the
// parent has not told it yet: the origin of server copies written here.
std::string ParentNodeId(const NodeConfig& config);

// The push options the node's config asks for (push.batch_size,
// push.max_attempts, the parent's node id); resume_paused is left false.
PushOptions PushOptionsFor(const NodeConfig& config);

// Checks that `user` is a user of this node (config.server.users) with the
// admin role, reading the password from the first line of stdin.
// PermissionDenied saying what is missing: no --user, an unknown user, a
// wrong password, or no admin role.
Status RequireAdmin(const NodeConfig& config, const std::string& user, const char* action);

// A --since/--from/--to value: an instant or a date ("2026-11-22").
StatusOr<std::int64_t> ParseTimeFlag(const std::string& flag, const std::string& text);

void WriteOutboxItemFields(JsonOutput& json, const OutboxItem& item);
void WriteAuditFields(JsonOutput& json, const AuditRecord& row);
// Writes the conflict's fields, `reason` (ConflictReason) among them.
void WriteConflictFields(JsonOutput& json, const ConflictRecord& conflict, bool with_bodies);

// Why the two versions could not be merged, in a data manager's words: the
// same id created here and on the parent (no common base), deleted on one
// side and changed on the other, or changed on both sides since a base.
std::string ConflictReason(const ConflictRecord& conflict);

// Prints what an operator action (retry, discard, conflicts resolve) did:
// its one-line message, or with `json` one object {[conflict_id,] requeued,
// discarded, local_version, message}; conflict_id only when non-zero.
void PrintOperatorResult(const OperatorActionResult& done, bool json,
                         std::int64_t conflict_id = 0);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_PUSH_CLI_H_
