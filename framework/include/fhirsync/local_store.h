// LocalStore: a node's own copy of the resources it holds, its change feed
// and its outbox (DESIGN §1, §4).
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
#include <string>
#include <vector>

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
  std::int64_t offset = 0;  // results are ordered by id
  std::int64_t limit = 100;
};

struct SearchResult {
  std::vector<Resource> resources;
  std::int64_t total = 0;  // matches without offset/limit
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

// One queued local change. Later issues add attempts, states and outcomes.
struct OutboxItem {
  std::int64_t seq = 0;  // the change it sends
  std::string type;
  std::string id;
  std::int64_t version = 0;
  std::string state;  // "pending"
};

struct ImportSummary {
  std::int64_t written = 0;    // new versions
  std::int64_t unchanged = 0;  // same content as the current version
};

// ---- Verify (issue 7): ordered range scans with content hashes. ----

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

  // Verifies the store's invariants, for operators and crash tests: every
  // current row points at the newest version of its resource, each
  // resource's versions are 1..n without a gap, seqs are 1..n without a gap,
  // every change made by this node has exactly one outbox row and no other
  // change has one, and (SQLite) the file passes the engine's quick check.
  // OK when all hold; DataLoss listing what does not; other codes when the
  // store cannot be read. Holds the writer lock while it runs, so writes wait.
  // Stores that cannot check return Unimplemented.
  virtual Status CheckIntegrity();

  // ---- Verify (issue 7). ----
  // The live (not deleted) resources in the range, ascending by id, at most
  // query.limit of them. InvalidArgument for a negative limit; the store's
  // error otherwise. The default returns Unimplemented (test fakes).
  virtual StatusOr<std::vector<DigestEntry>> ScanDigest(const DigestScanQuery& query);

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
