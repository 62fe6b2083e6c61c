// Node: one fhirsync node, opened from its folder, with the operations the
// `fhirsync` program's verbs and an embedding host share: pull once, push
// once, the daemon (run until stopped), status, verify and the operator
// actions. It does the wiring in one place: the configuration
// (fhirsync.json), the store it names, the transport plugins and their
// routing (SyncResourceManager), the services over them
// (SyncPullService, SyncPushService, SyncDaemon) and the link to the parent
// (ParentLink). docs/embedding.md shows a host using it.
//
//   auto node = fhirsync::Node::Open("/var/lib/fhirsync/clinic");
//   if (!node.ok()) { /* node.status() names the problem */ }
//   (*node)->store().Put(op);             // one transaction with its outbox row
//   auto pushed = (*node)->Push();        // send the outbox to the parent
//   auto pulled = (*node)->Pull();        // and take the parent's changes
//
// The parts stay reachable (config(), store(), Transports(), Parent()) for
// what the facade does not cover; the facade adds no behaviour of its own on top of
// them, so a host that wires them by hand gets the same results.
//
// Thread safety: every method may be called from any thread. The store is
// thread-safe (fhirsync/local_store.h). Pull(), Push() and StartDaemon()
// run one at a time (a second call waits); Pull() and Push() are refused
// while the daemon runs (FailedPrecondition).
// The configuration is read under a lock: config() returns a copy, since a
// first pull records the parent's node id in it (and in fhirsync.json).
// Hooks (NodeOptions, DaemonRunOptions, PullRunOptions) are called on the
// thread doing the work (the daemon's thread for the daemon) and must not
// call back into the Node's Pull/Push/StartDaemon/StopDaemon. What a Node
// lends (store(), Transports(), Parent()) must not be used after it is
// destroyed; its destructor stops the daemon.

#ifndef FHIRSYNC_NODE_H_
#define FHIRSYNC_NODE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>

#include "fhirsync/config.h"
#include "fhirsync/digest.h"
#include "fhirsync/local_store.h"
#include "fhirsync/parent_link.h"
#include "fhirsync/push_operations.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_daemon.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_push_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "fhirsync/sync_status.h"

namespace fhirsync {

struct NodeOptions {
  // Told of each problem that does not stop the node, one line each: an
  // optional plugin that was skipped (plugins.load[].optional). Called on
  // the thread that starts the plugins. Empty: such lines are dropped.
  std::function<void(const std::string& warning)> on_warning;
};

struct PullRunOptions {
  // Stop after this many pages (each one store transaction); 0: until the
  // parent's feed is drained.
  int max_pages = 0;
  // Told the counts so far after each page (a progress display).
  SyncPullService::ProgressCallback progress;
};

struct PushRunOptions {
  // Lift a pause left by the parent refusing this node's credentials
  // (401/403) before pushing: what an operator's explicit push means. A
  // host pushing on its own schedule sets it false, so that a pause stays
  // until someone mends the credentials.
  bool resume_paused = true;
};

// What status reports: what was observed (store and parent) and the
// explanation built from it (fhirsync/sync_status.h).
struct NodeStatus {
  SyncObservations observed;
  SyncStatusReport report;
};

struct DaemonRunOptions {
  bool pull = true;  // run the pull side (needs pull.enabled)
  bool push = true;  // run the push side (needs push.enabled)
  // Watch the store so that a write by another process (`fhirsync put`)
  // is pushed within about a second; a host writing through this Node can
  // call TriggerPush() instead.
  bool watch_store = true;
  LogLevel log_level = LogLevel::kInfo;
  SyncLogCallback log;  // the daemon's log records; empty: dropped
  // Called after every step of a side ("pull" or "push") with its result:
  // what monitoring counts.
  std::function<void(const char* side, const StatusOr<SyncStepResult>& result)> on_step;
  // When set, the pull lag is measured at the start of every pull pass
  // (within lag_budget_ms) and handed here before the pass's first page.
  std::function<void(const StatusOr<PullLag>& lag)> on_pull_lag;
  std::int64_t lag_budget_ms = 2000;
  // Each step of the probe the daemon asks while a side backs off.
  int probe_timeout_ms = 5000;
};

class Node {
 public:
  // Loads `dir`/fhirsync.json and opens the store it names. NotFound (with
  // a hint to run `fhirsync init`) when there is no configuration;
  // InvalidArgument naming the key for a bad one; the store's error
  // otherwise. Nothing is sent anywhere: the plugins start at first use.
  static StatusOr<std::unique_ptr<Node>> Open(const std::string& dir, NodeOptions options = {});

  ~Node();  // stops the daemon if it runs
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The folder as given to Open().
  const std::string& dir() const { return dir_; }
  // A copy of the configuration as it stands (see the thread-safety note).
  NodeConfig config() const;
  LocalStore& store() const { return *store_; }

  // The node's transport plugins and routing table, started at the first
  // call and kept for the Node's life (the daemon and the operator actions
  // use them; Pull() and Push() start their own, see there). Borrowed.
  // FailedPrecondition naming the file when the node has no parent; the
  // loader's or the router's error naming the plugin otherwise.
  StatusOr<const SyncResourceManager*> Transports();

  // The link to the parent (identity, reachability, digests), made at the
  // first call. Borrowed. ParentLink::Create's errors.
  StatusOr<const ParentLink*> Parent();

  // The parent's node id as recorded, or "parent" before it is known: the
  // origin written on the parent's copies kept here.
  std::string ParentNodeIdOrDefault() const;

  // One pull: checks the parent (on first contact its node id is learnt
  // and saved as parent.node_id; later, a parent naming itself differently
  // is refused), then applies the parent's changes page by page.
  // Each call starts the transport plugins and the parent link afresh, as
  // `fhirsync sync --once` does, so that a run after the parent restarted
  // or changed its capabilities (or the credentials changed) is a clean
  // start; the daemon keeps one set for its life. FailedPrecondition when the node has no
  // parent, pulling is disabled (pull.enabled), the parent names itself
  // differently, or the daemon runs; "starting the plugins: ..." for the
  // plugins' errors; the pull's errors (SyncPullService::Run: the pages
  // before the failure stay applied), whose code tells a transient failure
  // (kUnavailable, kDeadlineExceeded) from the rest.
  StatusOr<PullSummary> Pull(const PullRunOptions& options = {});

  // One push: sends the outbox until nothing is due, pushing pauses
  // (401/403: reported in the result, not as an error) or it cannot go on.
  // Starts the plugins afresh, as Pull() does. FailedPrecondition when
  // pushing is disabled (push.enabled), the node has no parent, or the
  // daemon runs; the plugins' errors; the store's errors.
  StatusOr<PushReport> Push(const PushRunOptions& options = {});

  // The node's sync state (what `fhirsync status` explains). The parent is
  // asked within `timeout_ms` per request (0: not asked; only what the
  // store knows is reported). A parent that cannot be reached or refuses
  // the credentials is an observation, not an error; the store's error
  // when it cannot be read.
  StatusOr<NodeStatus> GetStatus(int timeout_ms);

  // Compares this node with its parent by range digests (`fhirsync
  // verify`); `options.node_dir` is set to dir(). FailedPrecondition when
  // the node has no parent or the parent has no $digest (reached only
  // through plugins, or a FHIR server that is not fhirsync); the
  // credentials' error; the walk's errors prefixed "verify against URL: ".
  StatusOr<VerifyReport> Verify(VerifyOptions options = {});

  // The operator actions on the outbox and conflicts (retry, resolve),
  // which need no parent.
  std::unique_ptr<PushOperations> OperatorActions();
  // The same with the node's transports (Transports()), for the actions
  // that read from the parent (discard, resubmit). Transports()' errors.
  StatusOr<std::unique_ptr<PushOperations>> OperatorActionsWithParent();

  // Starts the daemon (SyncDaemon): pulls and pushes on the node's
  // intervals with backoff while the parent is away, until StopDaemon().
  // Its services are made by their first step, on the daemon's thread, so a
  // parent that is away at start is a failure the daemon backs off from.
  // FailedPrecondition when it already runs, or a side asked for is
  // disabled in fhirsync.json; "starting the plugins: ..." for the plugins'
  // errors; the credentials' error.
  Status StartDaemon(const DaemonRunOptions& options);
  // Asks the daemon for a prompt push (a host just wrote). No-op when it
  // does not run.
  void TriggerPush();
  // Lets the running step finish and stops the daemon; returns what it
  // did. An empty report when it did not run. Idempotent.
  SyncDaemonReport StopDaemon();

 private:
  class DaemonState;

  Node(std::string dir, NodeConfig config, std::unique_ptr<LocalStore> store,
       NodeOptions options);

  // Loads and routes the plugins for `config`, warnings to on_warning.
  StatusOr<std::unique_ptr<SyncResourceManager>> StartTransports(const NodeConfig& config) const;
  // Learns or checks the parent's node id through `parent` (saving a
  // learnt one), then makes a pull service over `routes` with `max_pages`.
  StatusOr<std::unique_ptr<SyncPullService>> MakePullService(const SyncResourceManager* routes,
                                                             const ParentLink& parent,
                                                             int max_pages);
  PushOptions PushOptionsFor(const NodeConfig& config) const;
  // After MakePullService: a first pull from the parent's snapshot when
  // pull.snapshot is "auto" and it applies (snapshot_load.h,
  // PullFromSnapshot); nullopt when it does not.
  StatusOr<std::optional<PullSummary>> PullSnapshotFirst(
      const SyncResourceManager* routes, const SyncPullService::ProgressCallback& progress);

  const std::string dir_;
  const NodeOptions options_;
  const std::unique_ptr<LocalStore> store_;

  mutable std::mutex config_mutex_;
  NodeConfig config_;  // guarded by config_mutex_

  std::mutex parts_mutex_;  // guards the lazily made parts below
  std::unique_ptr<SyncResourceManager> transports_;
  std::unique_ptr<ParentLink> parent_;

  // One Pull(), Push() or StartDaemon() at a time; taken before
  // daemon_mutex_, which is taken before parts_mutex_, before config_mutex_.
  std::mutex run_mutex_;
  std::mutex daemon_mutex_;
  std::unique_ptr<DaemonState> daemon_;  // guarded by daemon_mutex_
};

}  // namespace fhirsync

#endif  // FHIRSYNC_NODE_H_
