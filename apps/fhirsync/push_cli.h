// Helpers the push-side verbs share (outbox, retry, discard, resubmit,
// conflicts, audit): the admin credential check, time flags and the
// outbox/audit/conflict JSON fields. The node itself (its transports, the
// push) is fhirsync::Node's (fhirsync/node.h).
//
// Thread safety: none needed; the program is single-threaded.

#ifndef FHIRSYNC_APPS_FHIRSYNC_PUSH_CLI_H_
#define FHIRSYNC_APPS_FHIRSYNC_PUSH_CLI_H_

#include <cstdint>
#include <memory>
#include <string>

#include "fhirsync/audit_log.h"
#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/push_operations.h"
#include "fhirsync/status.h"
#include "output.h"

namespace fhirsync::cli {

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
