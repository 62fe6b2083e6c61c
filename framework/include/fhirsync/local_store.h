// LocalStore: a node's own copy of the resources it holds, its change feed
// and its outbox (architecture §1, §4).
//
// Every write is one transaction that (a) gives the resource its next
// version, (b) appends one row to `changes` (the node's change sequence,
// which also keeps every version's body, so it doubles as the history used
// for vread and as a merge base) and (c) for a local write adds one `outbox`
// row. Nothing is ever written but not queued. A write that arrived from the
// parent (WriteOptions::from_node set) records that node as its origin and
// adds no outbox row, which is what keeps pushes from echoing it back.
//
// Backends: SQLite (embedded default) and PostgreSQL (several processes may
// share one database). Both are reached through OpenLocalStore().
//
// Thread safety: a LocalStore may be used from several threads at once;
// writes are serialised by the backend, and the change sequence is assigned
// in commit order, so a reader walking `changes` by seq never sees a gap
// filled in later.

#ifndef FHIRSYNC_LOCAL_STORE_H_
#define FHIRSYNC_LOCAL_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <string>
#include <vector>

#include "fhirsync/audit_log.h"
#include "fhirsync/config.h"
#include "fhirsync/resource.h"
#include "fhirsync/status.h"

namespace fhirsync {

std::string_view ChangeActionName(ChangeAction action);  // "CREATED", "UPDATED", "DELETED"

// One write in a Write() call.
struct WriteOp {
  enum class Kind { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string type;
  // Empty on a put: the store assigns a random UUID. Required on a delete.
  std::string id;
  ResourceFormat format = ResourceFormat::kFhirJson;
  std::string body;  // JSON; ignored for a delete
  // If set, the write succeeds only when the current version equals it
  // (0 means "must not exist yet", a conditional create). Otherwise the whole
  // Write() fails with kAborted, a distinct status a caller can tell apart
  // from bad input.
  std::optional<std::int64_t> expected_version;
};

struct WriteOptions {
  // Empty for a local write. Otherwise the node id of the parent this write
  // came from: recorded as the change's origin, and no outbox row is added.
  std::string from_node;
};

// The outcome of one WriteOp.
struct WriteResult {
  std::string type;
  std::string id;
  std::int64_t version = 0;  // the version now current
  std::int64_t seq = 0;      // its `changes` row; 0 when nothing changed
  ChangeAction action = ChangeAction::kCreate;
  // False when the put carried the same content as the current version, or
  // a delete hit an already deleted resource: no version, change or outbox
  // row was added (a no-op, like a FHIR server's no-op update).
  bool changed = true;
  std::int64_t last_updated_ms = 0;
};

// One row of the change feed. `resource.body` is filled only when asked for.
struct Change {
  std::int64_t seq = 0;
  ChangeAction action = ChangeAction::kCreate;
  std::string origin;  // node id that made the change (this node for local)
  Resource resource;   // type, id, version, last_updated_ms, deleted, hash
};

struct ChangeQuery {
  std::int64_t after_seq = 0;        // changes with seq > after_seq
  std::int64_t limit = 1000;         // at most this many
  std::vector<std::string> types;    // empty: every type
  std::optional<std::int64_t> since_ms;  // only changes made at or after
  bool with_bodies = false;
};

// Current versions of one type (deleted ones are left out unless asked).
struct SearchQuery {
  std::string type;
  std::vector<std::string> ids;  // empty: any id
  std::optional<std::int64_t> updated_from_ms;  // last_updated >= this
  std::optional<std::int64_t> updated_to_ms;    // last_updated < this
  bool include_deleted = false;
  // Keyset paging: only ids after this one (byte order, as results are
  // ordered); empty: from the first id. A scan of a whole type passes the
  // last id of each page here, so every page costs one index seek, whatever
  // its depth, where `offset` would re-read every row before it.
  std::string after_id;
  std::int64_t offset = 0;  // results are ordered by id (byte order)
  std::int64_t limit = 100;
  // Count `total`; a scan that pages to the end needs no count (total -1).
  bool with_total = true;
};

struct SearchResult {
  std::vector<Resource> resources;
  std::int64_t total = 0;  // matches after after_id, without offset/limit; -1 unless with_total
};

struct TypeCount {
  std::string type;
  std::int64_t live = 0;
  std::int64_t deleted = 0;
};

struct StoreStats {
  std::vector<TypeCount> types;  // sorted by type
  std::int64_t last_seq = 0;
  std::int64_t outbox_pending = 0;
};

// One queued local change and where it stands (see the push section below
// for its states).
struct OutboxItem {
  std::int64_t seq = 0;  // the change it sends
  std::string type;
  std::string id;
  std::int64_t version = 0;
  std::string state;  // kOutboxPending, kOutboxDead, ...
  // Filled by ListOutbox() (PendingOutbox() leaves them default):
  std::string base_remote_version;  // the parent's version when it was queued
  int attempts = 0;
  std::int64_t next_attempt_ms = 0;  // not sent before this time
  int last_http_status = 0;          // 0: no HTTP answer (yet)
  std::string outcome;               // class of the last answer ("transient", ...)
  std::string message;               // its text (OperationOutcome, network error)
  std::string correlation_id;        // kept across retries and re-queues
  bool force = false;                // send without If-Match (operator's forced retry)
  ChangeAction action = ChangeAction::kUpdate;
  std::int64_t at_ms = 0;            // when the change was made
  std::string body;                  // only when asked for; empty for a delete
  std::string content_hash;          // of the version it sends
};

struct ImportSummary {
  std::int64_t written = 0;    // new versions
  std::int64_t unchanged = 0;  // same content as the current version
};


// ---- Push section (SyncPushService and the operator actions) ----
//
// Outbox states. An item is created kOutboxPending with its change. The pull
// side treats kOutboxPending and kOutboxDead as "a local change the parent
// does not have yet": a pull never overwrites such a resource.
inline constexpr char kOutboxPending[] = "pending";  // to send, or to retry at next_attempt_ms
inline constexpr char kOutboxDead[] = "dead";        // dead letter: waits for an operator
inline constexpr char kOutboxSent[] = "sent";        // the parent accepted it
inline constexpr char kOutboxDiscarded[] = "discarded";  // the operator kept the server copy
// Superseded by a newer local version made by a merge or a resolution
// (which is queued in its place, with the same correlation id).
inline constexpr char kOutboxReplaced[] = "replaced";

struct OutboxQuery {
  std::vector<std::string> states;  // empty: every state
  std::string type;                 // empty: any; with `id`: one resource
  std::string id;
  std::int64_t after_seq = 0;
  std::int64_t limit = 1000;
  // Only pending items no dead letter of the same resource precedes, due at
  // or before this time (the push service's view); nullopt: no such filter.
  std::optional<std::int64_t> due_at_ms;
  bool with_bodies = false;
};


// ---- Pull: what the child side of a sync needs. ----

// The parent's copy of one resource, as a pull applies it.
struct PulledResource {
  std::string type;
  std::string id;
  // The parent's version id ("3" from a fhirsync or FHIR parent). Compared
  // as a number when both sides are decimal digits; otherwise any other
  // value counts as newer.
  std::string remote_version;
  bool deleted = false;  // a tombstone: body is empty
  ResourceFormat format = ResourceFormat::kFhirJson;
  std::string body;
};

// What ApplyPull did with one PulledResource.
enum class PullOutcome {
  kApplied,    // a new local version (or a local tombstone) was written
  kUnchanged,  // same content as held: only the agreement was recorded
  kSkipped,    // not newer than the version last agreed: nothing written
  kConflict,   // a pending or dead-lettered local change holds the resource:
               // the server copy was kept as a `conflicts` row instead
  kRejected,   // the content is invalid (bad JSON, wrong type or id, too big)
};
std::string_view PullOutcomeName(PullOutcome outcome);  // "applied", ...

// Whether the parent's version `candidate` is newer than the `agreed` one:
// as numbers when both are decimal digits, otherwise whenever they differ.
bool IsNewerRemoteVersion(std::string_view candidate, std::string_view agreed);

struct PulledResult {
  std::string type;
  std::string id;
  std::string remote_version;
  PullOutcome outcome = PullOutcome::kApplied;
  ChangeAction action = ChangeAction::kUpdate;  // kApplied: what the local write was
  std::int64_t local_version = 0;  // the version now current locally (0: none)
  std::int64_t seq = 0;            // kApplied: the `changes` row written
  std::string message;             // kRejected: why; kConflict: which outbox row
};

// A durable position in a parent's change feed, keyed by the parent's node
// id (not its URL, so a parent that moves keeps the child's place).
struct PullCursor {
  std::string parent_node_id;
  std::string feed;      // "atom", "fhir-history", a plugin's own kind
  std::string position;  // opaque to the store; the change source's token
  std::int64_t updated_ms = 0;
};

// One page of pulled changes and where the feed stands after it.
struct PullPage {
  std::string parent_node_id;  // required: keys the cursor, recorded as origin
  std::string feed;
  std::string position;  // the cursor after this page
  std::vector<PulledResource> resources;  // applied in order
  std::string transport;  // the plugin that carried them, for the audit rows
  // Extra audit rows written in the same transaction (e.g. the page's own
  // "pull-page" row). ApplyPull adds one "pull-apply" row per resource that
  // was applied, conflicted or rejected.
  std::vector<AuditRecord> audit;
  // This page reached the head of the parent's feed: the pull is complete,
  // and the store records the time as the last completed pull (see
  // ParentContact) in the same transaction.
  bool completes_pull = false;
};

// What this node last agreed with its parent about one resource: local
// version `local_version` is the parent's `remote_version`. (Shared with the
// push section.)
struct SyncState {
  std::string type;
  std::string id;
  std::string remote_version;
  std::string content_hash;
  std::int64_t local_version = 0;
  std::int64_t agreed_ms = 0;
};

inline constexpr char kConflictOpen[] = "open";
inline constexpr char kConflictResolved[] = "resolved";

// A local change and a server copy that could not be merged, or that a pull
// kept beside a pending local change instead of overwriting it. (Shared
// with the push section.)
struct ConflictRecord {
  std::int64_t conflict_id = 0;  // assigned by the store
  std::string type;
  std::string id;
  std::int64_t outbox_seq = 0;  // the dead-lettered item; 0 for a pull-side conflict
  std::int64_t base_version = 0;
  std::string base_body;
  std::int64_t local_version = 0;
  std::string local_body;
  std::string remote_version;
  std::string remote_body;  // empty when the server copy is deleted
  std::string status = kConflictOpen;
  std::int64_t created_ms = 0;
  std::int64_t resolved_ms = 0;
};

// One outbox item's move to a new state.
struct OutboxTransition {
  std::int64_t seq = 0;
  std::string state;
  bool count_attempt = false;  // attempts + 1 (an answer, or none, was had)
  int http_status = 0;
  std::string outcome;
  std::string message;
  std::int64_t next_attempt_ms = 0;
  std::optional<bool> force;  // nullopt: unchanged
};

// Everything one push step changes, applied by RecordPush() in ONE
// transaction, in this order: server_copy, local_write, transitions, agreed,
// new_conflict, resolve_conflict_id, settling, pause, audit. A resource has
// at most one open conflict: new_conflict updates the open one a pull (or
// an earlier push) recorded, if there is one. Settling: after the
// transitions, every open conflict of a resource that has no pending or dead
// outbox item left (its change was sent or discarded) is marked resolved,
// with a "resolve"/"settled" audit row.
struct PushRecord {
  // The parent's copy written locally as a change from `parent_node_id`
  // (no outbox row): a discard, a resolution, or the base of a merge. A
  // kDelete op restores a server-side deletion.
  std::optional<WriteOp> server_copy;
  // Then a local change (queued) whose outbox row takes `correlation_id`.
  std::optional<WriteOp> local_write;
  std::string parent_node_id;
  std::string correlation_id;
  std::vector<OutboxTransition> transitions;
  // Upserts sync_state rows; a local_version of 0 means "the version
  // server_copy was written as".
  std::vector<SyncState> agreed;
  std::optional<ConflictRecord> new_conflict;  // PushRecordResult::conflict_id names it
  std::int64_t resolve_conflict_id = 0;  // marks that conflict resolved
  // Sets (a message) or clears ("") the node's push pause.
  std::optional<std::string> pause;
  // The parent answered in this step (any HTTP answer, or an acceptance):
  // the store records the time as the last contact (see ParentContact).
  bool parent_answered = false;
  // Written last; a record whose retry_of is negative -k points at the k-th
  // (1-based) row of this same list, and local_version 0 with a write takes
  // the version that write made.
  std::vector<AuditRecord> audit;
};

struct PushRecordResult {
  std::optional<WriteResult> server_copy;
  std::optional<WriteResult> local_write;
  std::int64_t conflict_id = 0;
  std::vector<std::int64_t> audit_ids;
};

// When this node last heard from its parent, as `fhirsync status` shows it.
// Recorded by the store in the transactions of ApplyPull (every page read is
// a contact; a page with completes_pull also a completed pull) and
// RecordPush (with parent_answered). 0: never.
struct ParentContact {
  std::int64_t last_contact_ms = 0;
  std::int64_t last_pull_ms = 0;
};

// ---- Verify: ordered range scans with content hashes. ----

// One live resource as `fhirsync verify` compares it: the content hash is
// the same on every node for the same content, while versions are per node.
struct DigestEntry {
  std::string id;
  std::int64_t version = 0;
  std::string content_hash;
  std::int64_t last_updated_ms = 0;
};

// Live resources of one type with from_id <= id < to_id, ascending by id
// (byte order, the same on every backend).
struct DigestScanQuery {
  std::string type;
  std::string from_id;  // inclusive; empty: from the first id
  std::string to_id;    // exclusive; empty: to the last id
  std::int64_t limit = 1000000;
};

// What an operator's monitoring counts (GET /metrics): the outbox by state
// and class, open conflicts, and the store's size on disk.
struct OutboxCount {
  std::string state;  // kOutboxPending, kOutboxDead, ...
  std::string outcome;  // the class of the last answer ("" when none yet)
  std::int64_t count = 0;
};
struct StoreFigures {
  std::vector<OutboxCount> outbox;  // one per (state, class) present
  std::int64_t open_conflicts = 0;
  // SQLite: the database file's pages (not its -wal file); PostgreSQL: the
  // tables and indexes of the store's schema.
  std::int64_t size_bytes = 0;
};

class LocalStore {
 public:
  virtual ~LocalStore() = default;
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  // Applies every op in one transaction, all or nothing. On failure nothing
  // is written and the error names the op ("entry 3 (Patient/x): ..."):
  // InvalidArgument for a bad body, type or id (the body's resourceType must
  // equal op.type and a body id must equal op.id); ResourceExhausted for an
  // oversize body; Aborted when expected_version does not match; NotFound
  // for a delete of a resource that never existed.
  virtual StatusOr<std::vector<WriteResult>> Write(std::span<const WriteOp> ops,
                                                   const WriteOptions& options) = 0;

  // The bulk path: like Write() for each op, in transactions of
  // `batch_size` ops. Stops at the first failing batch (earlier batches stay
  // committed) and says which.
  virtual StatusOr<ImportSummary> Import(std::span<const WriteOp> ops,
                                         const WriteOptions& options,
                                         std::size_t batch_size = 1000) = 0;

  // The current version. NotFound if the resource never existed; a deleted
  // resource comes back as a tombstone (deleted = true, empty body) so a
  // server can answer 410 Gone.
  virtual StatusOr<Resource> Get(const std::string& type, const std::string& id) = 0;
  // One version (tombstones included). NotFound if there is no such version.
  virtual StatusOr<Resource> GetVersion(const std::string& type, const std::string& id,
                                        std::int64_t version) = 0;
  // Every version, newest first. NotFound if the resource never existed.
  virtual StatusOr<std::vector<Resource>> History(const std::string& type,
                                                  const std::string& id) = 0;

  // The change feed, ascending by seq.
  virtual StatusOr<std::vector<Change>> Changes(const ChangeQuery& query) = 0;
  virtual StatusOr<std::int64_t> LastSeq() = 0;

  virtual StatusOr<SearchResult> Search(const SearchQuery& query) = 0;
  virtual StatusOr<StoreStats> Stats() = 0;

  // Pending outbox items, ascending by seq.
  virtual StatusOr<std::vector<OutboxItem>> PendingOutbox(std::int64_t limit) = 0;

  // ---- Push section ----
  // Outbox items matching `query`, ascending by seq.
  virtual StatusOr<std::vector<OutboxItem>> ListOutbox(const OutboxQuery& query);
  // The sync_state row; nullopt when this node never agreed a version of
  // the resource with its parent.
  virtual StatusOr<std::optional<SyncState>> GetSyncState(const std::string& type,
                                                          const std::string& id);
  // Conflicts, newest first; `status` empty: every status.
  virtual StatusOr<std::vector<ConflictRecord>> ListConflicts(const std::string& status,
                                                              std::int64_t limit);
  // NotFound naming the id when there is no such conflict.
  virtual StatusOr<ConflictRecord> GetConflict(std::int64_t conflict_id);
  // Applies `record` in one transaction (see PushRecord): all or nothing.
  // The writes fail as Write() does (e.g. Aborted when their
  // expected_version does not match: a newer local edit came in).
  virtual StatusOr<PushRecordResult> RecordPush(const PushRecord& record);
  // The push pause message; empty when pushing is not paused.
  virtual StatusOr<std::string> PushPause();
  // Audit rows (see fhirsync/audit_log.h); the store assigns id and time.
  virtual StatusOr<std::int64_t> AppendAudit(const AuditRecord& record);
  virtual StatusOr<std::vector<AuditRecord>> QueryAudit(const AuditQuery& query);
  // Stores without a push section return Unimplemented from all of these.

  // Verifies the store's invariants, for operators and crash tests: every
  // current row points at the newest version of its resource, each
  // resource's versions are 1..n without a gap, seqs are 1..n without a gap,
  // every change made by this node has exactly one outbox row and no other
  // change has one, and (SQLite) the file passes the engine's quick check.
  // OK when all hold; DataLoss listing what does not; other codes when the
  // store cannot be read. Holds the writer lock while it runs, so writes wait.
  // Stores that cannot check return Unimplemented.
  virtual Status CheckIntegrity();

  // ---- Pull. The defaults return Unimplemented, so a store that
  // is never pulled into (a test fake) need not implement them. ----

  // Applies `page` and moves the cursor of page.parent_node_id to
  // page.position in ONE transaction, with an audit row per applied,
  // conflicting or rejected resource and page.audit. Each resource is
  // written with WriteOptions::from_node = page.parent_node_id (no outbox
  // row) and its agreement recorded in sync_state. Idempotent by (type, id,
  // remote version): a version not newer than the agreed one is kSkipped. A
  // resource with a 'pending' or 'dead' outbox row is not overwritten: it
  // becomes one open `conflicts` row (re-applying the same remote version
  // adds none). A delete of a resource never held records the agreement
  // only. Returns one result per resource in order; InvalidArgument when
  // parent_node_id or feed is empty; the store's error (nothing written)
  // otherwise.
  virtual StatusOr<std::vector<PulledResult>> ApplyPull(const PullPage& page);

  // The cursor for `parent_node_id`; nullopt when this node never pulled
  // from it.
  virtual StatusOr<std::optional<PullCursor>> GetCursor(const std::string& parent_node_id);

  // The agreements held for the given (type, id) keys; keys without one are
  // left out. Order unspecified.
  virtual StatusOr<std::vector<SyncState>> GetSyncStates(
      std::span<const std::pair<std::string, std::string>> keys);

  // ListConflicts, AppendAudit and QueryAudit (push section above) serve pull too.

  // When the parent last answered a pull or push, and when a pull last
  // reached the head of its feed (zeros when never). The store's error
  // otherwise; Unimplemented by default.
  virtual StatusOr<ParentContact> GetParentContact();

  // ---- Verify. ----
  // The live (not deleted) resources in the range, ascending by id, at most
  // query.limit of them. InvalidArgument for a negative limit; the store's
  // error otherwise. The default returns Unimplemented (test fakes).
  virtual StatusOr<std::vector<DigestEntry>> ScanDigest(const DigestScanQuery& query);

  // ---- Monitoring. ----
  // The counts of StoreFigures, read in one transaction. The store's error
  // when it cannot be read; Unimplemented by default (test fakes).
  virtual StatusOr<StoreFigures> Figures();

  // Convenience wrappers over Write() for a single op.
  StatusOr<WriteResult> Put(const WriteOp& op, const WriteOptions& options = {});
  StatusOr<WriteResult> Delete(const std::string& type, const std::string& id,
                               const WriteOptions& options = {},
                               std::optional<std::int64_t> expected_version = std::nullopt);

 protected:
  LocalStore() = default;
};

// Opens (creating if needed, and migrating the schema) the store a node's
// configuration names. `node_dir` resolves a relative SQLite path.
// Unavailable if a PostgreSQL server cannot be reached; InvalidArgument for a
// bad configuration; DataLoss if the file is not a fhirsync store.
StatusOr<std::unique_ptr<LocalStore>> OpenLocalStore(const StoreConfig& config,
                                                     const std::string& node_dir,
                                                     const std::string& node_id);

}  // namespace fhirsync

#endif  // FHIRSYNC_LOCAL_STORE_H_
