// The write rules every LocalStore backend follows, kept in one place:
// input validation, id assignment, body stamping and hashing, the
// expected-version check, no-op detection and tombstones (internal header).
//
// A backend supplies only storage through WriteTarget (look up the current
// version, append a new one); this file decides what to append. Because both
// backends call the same code, a FHIR body is stamped, hashed and versioned
// identically whichever database holds it.
//
// Thread safety: PrepareOp is a pure function; ApplyPreparedOp runs inside
// one write transaction owned by the caller.

#ifndef FHIRSYNC_STORE_WRITE_PLANNER_H_
#define FHIRSYNC_STORE_WRITE_PLANNER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/local_store.h"
#include "fhirsync/status.h"

namespace fhirsync::store {

// A WriteOp that passed every check that needs no database.
struct PreparedOp {
  const WriteOp* op = nullptr;
  std::string id;  // op->id, or a new UUID for a put without one
  // Set for a FHIR put: the serialised, hashed body, stamped once the
  // version is known. (The parsed document is freed right away: a batch of
  // thousands of parsed documents would cost far more memory than text.)
  std::optional<UnstampedBody> fhir;
  // Set for an OpenMRS REST put: the hash of the verbatim body.
  std::string opaque_hash;
  // The outbox correlation id, should this op queue one. PrepareOp leaves
  // it empty; a batch preparer fills a whole batch's with one NewUuids()
  // call, off the writer's thread (an import prepares the next batch while it
  // writes this one). Left empty, the writer makes one.
  std::string correlation_id;
};

// "entry 3 (Patient/x)": how errors name an op (1-based, escaped).
std::string EntryLabel(std::size_t index, const std::string& type, const std::string& id);

// Validates one op: the type name for its format, the id (FHIR's rule; a
// delete needs one), the body (size cap, JSON, resourceType == op.type, a
// body id == op.id). InvalidArgument or ResourceExhausted naming the
// problem, without the entry label (the caller adds it).
StatusOr<PreparedOp> PrepareOp(const WriteOp& op, std::size_t max_body_bytes);

// What a backend knows about the current version of a resource.
struct CurrentVersion {
  std::int64_t version = 0;
  bool deleted = false;
  std::int64_t last_updated_ms = 0;
  std::string content_hash;
};

// One new version to store: a `changes` row, the `resources` pointer and,
// when `queue_outbox`, an `outbox` row, all in the caller's transaction.
// Every text is a view: of the op, its prepared form or the write context,
// all of which outlive the write target, so a row costs no string copies on
// the writer's thread (the import's critical path).
struct NewVersion {
  std::int64_t seq = 0;
  std::string_view type;
  std::string_view id;
  std::int64_t version = 0;
  ChangeAction action = ChangeAction::kCreate;
  std::int64_t at_ms = 0;
  std::string_view origin;
  ResourceFormat format = ResourceFormat::kFhirJson;
  bool deleted = false;
  std::string_view content_hash;
  std::string_view body;  // empty for a tombstone
  bool queue_outbox = false;
  std::string_view correlation_id;  // of the outbox row, when queue_outbox
};

// The storage side of one open write transaction.
class WriteTarget {
 public:
  virtual ~WriteTarget() = default;
  // The current version, or nullptr if the resource never existed. The
  // pointer stays valid for the target's life. With `may_assume_new` a
  // target may answer nullptr without looking (a lookup can cost more than
  // being wrong now and then); should the resource exist after all, Append
  // refuses its version 1 and the next Current knows better.
  virtual StatusOr<const CurrentVersion*> Current(std::string_view type, std::string_view id,
                                                  bool may_assume_new) = 0;
  // Stores `version`: true, or false (nothing stored) when it is version 1
  // of a resource Current assumed new that exists. The target may fill in
  // an empty correlation id (and keep the text it points to); it keeps no
  // other view past the call, except of `type` and `id`, which must outlive
  // the target.
  virtual StatusOr<bool> Append(NewVersion& version) = 0;
};

// Per-transaction state: the next seq to hand out (dense, starting at the
// highest committed seq + 1, read under the backend's write lock), the
// transaction's time, and where the write came from.
struct WriteContext {
  std::int64_t next_seq = 1;
  std::int64_t now_ms = 0;
  std::string now_text;       // FormatInstant(now_ms), formatted once
  std::string origin;         // this node's id or WriteOptions::from_node
  bool queue_outbox = true;   // false for a write from the parent
  // The stamped body of the version being appended: reused from one op to
  // the next, so stamping allocates nothing once it is large enough.
  std::string body_buffer;
};

// What ApplyPreparedOp did: a WriteResult without the type and id (the
// caller has them), so an import that only counts copies no strings.
struct WriteOutcome {
  std::int64_t version = 0;  // the version now current
  std::int64_t seq = 0;      // its `changes` row; 0 when nothing changed
  ChangeAction action = ChangeAction::kCreate;
  bool changed = true;
  std::int64_t last_updated_ms = 0;
};

// The WriteResult of `prepared` with `outcome`.
WriteResult ToWriteResult(const PreparedOp& prepared, const WriteOutcome& outcome);

// Applies the version rules to one prepared op: Aborted on an
// expected_version mismatch (naming both versions), NotFound for a delete of
// a resource that never existed, a no-op (changed = false) for a put with the
// current content or a delete of a deleted resource; otherwise appends the
// next version with the next seq. Errors carry no entry label.
StatusOr<WriteOutcome> ApplyPreparedOp(const PreparedOp& prepared, WriteTarget& target,
                                       WriteContext& context);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_WRITE_PLANNER_H_
