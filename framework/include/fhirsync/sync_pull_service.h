// SyncPullService: the child side of a sync. It reads the parent's change
// feed from the durable cursor, keeps the types this node subscribes to,
// fetches the resources in batches with several requests in flight, and
// applies each page with the advanced cursor in one store transaction
// (architecture §1 step 3).
//
// Where the pieces come from: the change feed is the `history` operation of
// the transport SyncResourceManager routes the subscribed types to
// (TransportPlugin::ReadChanges: the FHIR plugin reads the parent's Atom feed
// or its FHIR `_history`; any plugin may offer its own); bodies the feed
// does not carry come from each type's `read-many` transport (`read`, one
// resource per call, where a transport has no read-many).
//
// What it never does (architecture §8): one request per feed event (bodies are
// fetched `batch_size` at a time, `in_flight` requests at once); key the
// cursor by URL (it is keyed by the parent's node id); move the cursor past
// a failure (a page whose feed read or any body fetch fails is not applied
// and the cursor stays; the next run reads it again, which is harmless
// because applying is idempotent); fetch what it already holds (a feed
// entry whose version is not newer than the one agreed in sync_state is
// skipped before fetching). A resource with a pending or dead-lettered
// local change is kept as a conflict, never overwritten (LocalStore::
// ApplyPull); but when the parent's copy holds exactly that change's
// content (the same content hash: both sides created the same id alike),
// the change is recorded as delivered and the parent's version as agreed
// instead, in a transaction after the page's (the summary counts it
// unchanged).
//
// Thread safety: Run() may be called from any thread but runs one at a time
// (a second call waits). Listeners may be added or removed at any time;
// they are called on the thread running Run(), after each page's
// transaction commits, and must not call Run().

#ifndef FHIRSYNC_SYNC_PULL_SERVICE_H_
#define FHIRSYNC_SYNC_PULL_SERVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {

struct PullOptions {
  std::string parent_node_id;      // required: keys the cursor
  std::string feed = "atom";       // the feed kind, recorded with the cursor
  std::vector<std::string> types;  // subscribed types; empty: every type
  int batch_size = 100;            // ids per read-many request
  int in_flight = 4;               // read-many requests at once
  // Entries asked of the feed per page; 0: batch_size * in_flight, so that
  // one page keeps every request slot busy.
  int page_entries = 0;
  int max_pages = 0;  // stop after this many pages; 0: until the feed is drained
};

// The options a node's configuration asks for (pull.feed, pull.types,
// pull.batch_size, pull.in_flight) for following the parent
// `parent_node_id`; max_pages 0. Pure.
PullOptions PullOptionsFor(const NodeConfig& config, const std::string& parent_node_id);

// Counts so far (progress) or in total (summary).
struct PullSummary {
  std::int64_t pages = 0;      // pages applied
  std::int64_t entries = 0;    // feed entries read (after the type filter)
  std::int64_t fetched = 0;    // resources received from the parent
  std::int64_t requests = 0;   // body requests made (read-many or read calls)
  std::int64_t applied = 0;    // new local versions or tombstones
  std::int64_t unchanged = 0;  // same content as held
  std::int64_t skipped = 0;    // not newer than agreed, duplicates, gone
  std::int64_t conflicts = 0;  // kept beside a local change
  std::int64_t rejected = 0;   // invalid content (see the audit log)
  std::int64_t elapsed_ms = 0;
  bool at_head = false;        // the feed had nothing more
  // The pull began with a snapshot of the parent (snapshot_load.h): how
  // many of its files and bytes were read.
  bool from_snapshot = false;
  std::int64_t snapshot_files = 0;
  std::int64_t snapshot_bytes = 0;
};

// How far this node is behind its parent's feed (what `fhirsync status`
// shows as pull lag).
struct PullLag {
  // Feed entries after the cursor that a pull would apply: of the subscribed
  // types and newer than the version agreed in sync_state (so this node's
  // own pushes, which the parent's feed also lists, do not count).
  std::int64_t changes = 0;
  std::int64_t oldest_ms = 0;  // when the parent made the oldest of them; 0: unknown
  bool complete = true;  // false: time ran out first; `changes` is a lower bound
};

class SyncPullService {
 public:
  using Listener = std::function<void(const PulledResult& change)>;
  using ProgressCallback = std::function<void(const PullSummary& so_far)>;

  // `store` and `manager` are borrowed and must outlive the service.
  // InvalidArgument for bad options (no parent node id, batch_size or
  // in_flight < 1, a subscribed type that is no type name);
  // FailedPrecondition when no transport offers `history` for the
  // subscribed types, or they route to different ones.
  static StatusOr<std::unique_ptr<SyncPullService>> Create(LocalStore* store,
                                                           const SyncResourceManager* manager,
                                                           PullOptions options);

  // Pulls pages until the feed is drained (or max_pages). Returns the
  // summary of what was applied; on an error the pages before it stay
  // applied, the cursor stands after the last of them, an audit row records
  // the failure and the error is returned (its code tells a transient
  // failure, kUnavailable / kDeadlineExceeded, from the rest).
  StatusOr<PullSummary> Run(const ProgressCallback& progress = nullptr);

  // Reads (never applies) the parent's feed from the cursor to its head,
  // stopping early once `budget_ms` has passed (complete = false then).
  // Nothing is written. The transport's error when the feed cannot be read
  // (its code tells unreachable, kUnavailable / kDeadlineExceeded, from
  // refused credentials, kUnauthenticated / kPermissionDenied);
  // FailedPrecondition when the cursor belongs to another feed kind.
  StatusOr<PullLag> MeasureLag(std::int64_t budget_ms);

  // Registers a listener told of each change applied (outcome kApplied)
  // after its page commits. Returns an id for RemoveListener.
  int AddListener(Listener listener);
  void RemoveListener(int id);

  const std::string& history_transport() const { return history_.plugin; }

 private:
  SyncPullService(LocalStore* store, const SyncResourceManager* manager, PullOptions options,
                  Route history);

  // Reads, fetches and applies one page from `position`; reports whether
  // the source has more and where it now stands.
  Status PullOnePage(const std::string& position, PullSummary& summary, bool& more,
                     std::string& next_position);
  Status FetchBodies(std::vector<ChangeEntry*>& need, PullSummary& summary);
  // The cursor's position in the parent's feed ("" before the first pull);
  // FailedPrecondition when it belongs to another feed kind.
  StatusOr<std::string> CursorPosition();
  void Notify(const std::vector<PulledResult>& results);
  void AuditFailure(const std::string& what, const CallOutcome& outcome);

  LocalStore* const store_;
  const SyncResourceManager* const manager_;
  const PullOptions options_;
  const Route history_;

  std::mutex run_mutex_;
  std::mutex listeners_mutex_;
  int next_listener_id_ = 1;
  std::map<int, Listener> listeners_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_SYNC_PULL_SERVICE_H_
