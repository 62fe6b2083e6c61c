// Node (see fhirsync/node.h): the wiring of one node in one place.

#include "fhirsync/node.h"

#include <utility>
#include <vector>

#include "fhirsync/parent_identity.h"
#include "fhirsync/snapshot_load.h"
#include "fhirsync/sync_observer.h"

namespace fhirsync {
namespace {

Status CheckCanPull(const NodeConfig& config) {
  if (config.parent.url.empty()) {
    return FailedPreconditionError(
        "this node has no parent (parent.url in fhirsync.json; `fhirsync init --parent URL` "
        "sets one)");
  }
  if (!config.pull.enabled) {
    return FailedPreconditionError("pulling is disabled (pull.enabled is false)");
  }
  return Status::Ok();
}

Status CheckCanPush(const NodeConfig& config) {
  if (!config.push.enabled) {
    return FailedPreconditionError(
        "pushing is turned off for this node (push.enabled is false in fhirsync.json)");
  }
  return Status::Ok();
}

Status DaemonRunsError(const char* what) {
  return FailedPreconditionError(std::string(what) +
                                 " cannot run while this node's daemon runs; stop it first");
}

}  // namespace

// The daemon and what its steps own: the services are made by the first
// step of their side, on the daemon's thread, and only used there.
class Node::DaemonState {
 public:
  std::unique_ptr<SyncPullService> pull_service;
  SyncStepFn pull_step;
  bool pass_starts = true;  // the next pull step begins a pass
  std::unique_ptr<SyncPushService> push_service;
  SyncStepFn push_step;
  std::unique_ptr<SyncDaemon> daemon;  // declared last: stopped first
};

Node::Node(std::string dir, NodeConfig config, std::unique_ptr<LocalStore> store,
           NodeOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      store_(std::move(store)),
      config_(std::move(config)) {}

Node::~Node() { StopDaemon(); }

StatusOr<std::unique_ptr<Node>> Node::Open(const std::string& dir, NodeOptions options) {
  FHIRSYNC_ASSIGN_OR_RETURN(NodeConfig config, LoadNodeConfig(dir));
  FHIRSYNC_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> store,
                            OpenLocalStore(config.store, dir, config.node_id));
  return std::unique_ptr<Node>(
      new Node(dir, std::move(config), std::move(store), std::move(options)));
}

NodeConfig Node::config() const {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return config_;
}

std::string Node::ParentNodeIdOrDefault() const {
  std::lock_guard<std::mutex> lock(config_mutex_);
  return config_.parent.node_id.empty() ? std::string("parent") : config_.parent.node_id;
}

PushOptions Node::PushOptionsFor(const NodeConfig& config) const {
  PushOptions options;
  options.batch_size = config.push.batch_size;
  options.max_attempts = config.push.max_attempts;
  options.parent_node_id =
      config.parent.node_id.empty() ? std::string("parent") : config.parent.node_id;
  return options;
}

StatusOr<std::unique_ptr<SyncResourceManager>> Node::StartTransports(
    const NodeConfig& config) const {
  if (config.parent.url.empty()) {
    return FailedPreconditionError("node '" + config.node_id +
                                   "' has no parent (parent.url is empty in " + dir_ +
                                   "/fhirsync.json)");
  }
  std::vector<std::string> warnings;
  StatusOr<std::unique_ptr<SyncResourceManager>> routes =
      SyncResourceManager::Start(config, dir_, &warnings);
  if (options_.on_warning) {
    for (const std::string& warning : warnings) options_.on_warning(warning);
  }
  return routes;
}

StatusOr<const SyncResourceManager*> Node::Transports() {
  std::lock_guard<std::mutex> lock(parts_mutex_);
  if (!transports_) {
    FHIRSYNC_ASSIGN_OR_RETURN(transports_, StartTransports(config()));
  }
  return transports_.get();
}

StatusOr<const ParentLink*> Node::Parent() {
  std::lock_guard<std::mutex> lock(parts_mutex_);
  if (!parent_) {
    FHIRSYNC_ASSIGN_OR_RETURN(parent_, ParentLink::Create(config(), dir_));
  }
  return parent_.get();
}

StatusOr<std::unique_ptr<SyncPullService>> Node::MakePullService(
    const SyncResourceManager* routes, const ParentLink& parent, int max_pages) {
  NodeConfig config = this->config();
  FHIRSYNC_RETURN_IF_ERROR(CheckCanPull(config));
  // The pull cursor is keyed by the parent's node id: learnt on first
  // contact and recorded; later, a parent that names itself differently is
  // refused (another node behind the same address would make the cursor
  // meaningless). A FHIR server that does not name itself is followed
  // under parent.node_id, or an id derived from its address
  // (ResolveParentNodeId). A parent that cannot be reached is not an error
  // here when its id is known: the pull itself will say so.
  if (!parent.speaks_http()) {
    FHIRSYNC_RETURN_IF_ERROR(ConfiguredParentNodeId(config).status());
  } else if (StatusOr<std::string> reported = parent.FetchNodeId(); !reported.ok()) {
    const bool away = reported.status().code() == StatusCode::kUnavailable ||
                      reported.status().code() == StatusCode::kDeadlineExceeded;
    if (config.parent.node_id.empty() || !away) return reported.status();
  } else {
    bool learnt = false;
    FHIRSYNC_ASSIGN_OR_RETURN(std::string node_id,
                              ResolveParentNodeId(config, *reported, &learnt));
    if (learnt) {
      std::lock_guard<std::mutex> lock(config_mutex_);
      config_.parent.node_id = node_id;
      FHIRSYNC_RETURN_IF_ERROR(SaveNodeConfig(dir_, config_));
      config.parent.node_id = node_id;
    }
  }
  PullOptions pull = PullOptionsFor(config, config.parent.node_id);
  pull.max_pages = max_pages;
  return SyncPullService::Create(store_.get(), routes, pull);
}

StatusOr<PullSummary> Node::Pull(const PullRunOptions& options) {
  std::lock_guard<std::mutex> run(run_mutex_);
  {
    std::lock_guard<std::mutex> lock(daemon_mutex_);
    if (daemon_) return DaemonRunsError("a pull");
  }
  const NodeConfig config = this->config();
  FHIRSYNC_RETURN_IF_ERROR(CheckCanPull(config));
  StatusOr<std::unique_ptr<SyncResourceManager>> routes = StartTransports(config);
  if (!routes.ok()) return routes.status().WithContext("starting the plugins");
  FHIRSYNC_ASSIGN_OR_RETURN(std::unique_ptr<ParentLink> parent,
                            ParentLink::Create(config, dir_));
  FHIRSYNC_ASSIGN_OR_RETURN(std::unique_ptr<SyncPullService> service,
                            MakePullService(routes->get(), *parent, options.max_pages));
  FHIRSYNC_ASSIGN_OR_RETURN(std::optional<PullSummary> snapshot,
                            PullSnapshotFirst(routes->get(), options.progress));
  if (!snapshot) return service->Run(options.progress);
  // Then the feed from the snapshot's watermark; the counts add up.
  const PullSummary& first = *snapshot;
  SyncPullService::ProgressCallback progress;
  if (options.progress) {
    progress = [&](const PullSummary& so_far) {
      PullSummary sum = so_far;
      sum.pages += first.pages;
      sum.entries += first.entries;
      sum.fetched += first.fetched;
      sum.applied += first.applied;
      sum.unchanged += first.unchanged;
      sum.skipped += first.skipped;
      sum.conflicts += first.conflicts;
      sum.rejected += first.rejected;
      sum.elapsed_ms += first.elapsed_ms;
      sum.from_snapshot = true;
      sum.snapshot_files = first.snapshot_files;
      sum.snapshot_bytes = first.snapshot_bytes;
      options.progress(sum);
    };
  }
  FHIRSYNC_ASSIGN_OR_RETURN(PullSummary rest, service->Run(progress));
  PullSummary sum = first;
  sum.pages += rest.pages;
  sum.entries += rest.entries;
  sum.fetched += rest.fetched;
  sum.requests += rest.requests;
  sum.applied += rest.applied;
  sum.unchanged += rest.unchanged;
  sum.skipped += rest.skipped;
  sum.conflicts += rest.conflicts;
  sum.rejected += rest.rejected;
  sum.elapsed_ms += rest.elapsed_ms;
  sum.at_head = rest.at_head;
  return sum;
}

StatusOr<std::optional<PullSummary>> Node::PullSnapshotFirst(
    const SyncResourceManager* routes, const SyncPullService::ProgressCallback& progress) {
  const NodeConfig config = this->config();  // with the parent's node id learnt
  if (config.pull.snapshot != "auto") return std::optional<PullSummary>();
  return PullFromSnapshot(store_.get(), *routes, PullOptionsFor(config, config.parent.node_id),
                          config.parent.max_answer_bytes, progress);
}

StatusOr<PushReport> Node::Push(const PushRunOptions& options) {
  std::lock_guard<std::mutex> run(run_mutex_);
  {
    std::lock_guard<std::mutex> lock(daemon_mutex_);
    if (daemon_) return DaemonRunsError("a push");
  }
  const NodeConfig config = this->config();
  FHIRSYNC_RETURN_IF_ERROR(CheckCanPush(config));
  FHIRSYNC_ASSIGN_OR_RETURN(std::unique_ptr<SyncResourceManager> routes, StartTransports(config));
  PushOptions push = PushOptionsFor(config);
  push.resume_paused = options.resume_paused;
  SyncPushService service(store_.get(), routes.get(), push);
  return service.RunUntilIdle();
}

StatusOr<NodeStatus> Node::GetStatus(int timeout_ms) {
  const NodeConfig config = this->config();
  ObserveOptions observe;
  observe.node_dir = dir_;
  observe.timeout_ms = timeout_ms;
  // A link that cannot be made (credentials that cannot be read) is left to
  // ObserveSync, which reports why the parent could not be asked.
  if (timeout_ms > 0 && !config.parent.url.empty()) {
    if (StatusOr<const ParentLink*> parent = Parent(); parent.ok()) observe.parent = *parent;
  }
  NodeStatus status;
  FHIRSYNC_ASSIGN_OR_RETURN(status.observed, ObserveSync(store_.get(), config, observe));
  status.report = BuildSyncStatus(status.observed);
  return status;
}

StatusOr<VerifyReport> Node::Verify(VerifyOptions options) {
  const NodeConfig config = this->config();
  if (config.parent.url.empty()) {
    return FailedPreconditionError(
        "this node has no parent to verify against (parent.url is empty in " + dir_ +
        "/fhirsync.json)");
  }
  FHIRSYNC_ASSIGN_OR_RETURN(const ParentLink* parent, Parent());
  FHIRSYNC_ASSIGN_OR_RETURN(std::unique_ptr<DigestPeer> peer, parent->MakeDigestPeer());
  options.node_dir = dir_;
  StatusOr<VerifyReport> report = VerifyWithPeer(*store_, *peer, options);
  if (!report.ok()) {
    return Status(report.status().code(),
                  "verify against " + config.parent.url + ": " + report.status().message());
  }
  return report;
}

std::unique_ptr<PushOperations> Node::OperatorActions() {
  return std::make_unique<PushOperations>(store_.get(), nullptr, ParentNodeIdOrDefault());
}

StatusOr<std::unique_ptr<PushOperations>> Node::OperatorActionsWithParent() {
  FHIRSYNC_ASSIGN_OR_RETURN(const SyncResourceManager* routes, Transports());
  return std::make_unique<PushOperations>(store_.get(), routes, ParentNodeIdOrDefault());
}

Status Node::StartDaemon(const DaemonRunOptions& options) {
  std::lock_guard<std::mutex> run(run_mutex_);  // not beside a Pull() or Push()
  std::lock_guard<std::mutex> lock(daemon_mutex_);
  if (daemon_) return FailedPreconditionError("this node's daemon already runs");
  const NodeConfig config = this->config();
  if (options.pull && !config.pull.enabled) {
    return FailedPreconditionError("pulling is disabled (pull.enabled is false)");
  }
  if (options.push) FHIRSYNC_RETURN_IF_ERROR(CheckCanPush(config));
  StatusOr<const SyncResourceManager*> routes = Transports();
  if (!routes.ok()) return routes.status().WithContext("starting the plugins");
  // The probe the daemon asks while a side backs off: one small request
  // instead of a pull or push that would fail and count against the outbox.
  FHIRSYNC_ASSIGN_OR_RETURN(const ParentLink* parent, Parent());

  auto state = std::make_unique<DaemonState>();
  DaemonState* s = state.get();
  const SyncResourceManager* manager = *routes;
  SyncStepFn pull = [this, s, manager, parent, options]() -> StatusOr<SyncStepResult> {
    StatusOr<SyncStepResult> result = [&]() -> StatusOr<SyncStepResult> {
      if (!s->pull_service) {
        FHIRSYNC_ASSIGN_OR_RETURN(s->pull_service, MakePullService(manager, *parent, 1));
        s->pull_step = PullStep(s->pull_service.get());
      }
      // The first pull of a new child: the parent's snapshot, whole, as one
      // step (one cut continues at the next step; once loaded, the cursor
      // is the feed's and this does nothing).
      FHIRSYNC_ASSIGN_OR_RETURN(std::optional<PullSummary> snapshot,
                                PullSnapshotFirst(manager, nullptr));
      if (snapshot) {
        SyncStepResult step;
        step.more = true;
        step.moved = snapshot->applied;
        step.detail = "loaded the parent's snapshot: " + std::to_string(snapshot->fetched) +
                      " resources, " + std::to_string(snapshot->applied) + " applied";
        return step;
      }
      if (s->pass_starts && options.on_pull_lag) {
        options.on_pull_lag(s->pull_service->MeasureLag(options.lag_budget_ms));
      }
      return s->pull_step();
    }();
    s->pass_starts = !result.ok() || !result->more;
    if (options.on_step) options.on_step("pull", result);
    return result;
  };
  // Made after the pull side has learnt the parent's node id: the origin
  // of the server copies a push writes.
  SyncStepFn push = [this, s, manager, options]() -> StatusOr<SyncStepResult> {
    if (!s->push_service) {
      s->push_service =
          std::make_unique<SyncPushService>(store_.get(), manager, PushOptionsFor(this->config()));
      s->push_step = PushStep(s->push_service.get(), store_.get());
    }
    StatusOr<SyncStepResult> result = s->push_step();
    if (options.on_step) options.on_step("push", result);
    return result;
  };

  SyncDaemonOptions daemon;
  daemon.pull_enabled = options.pull;
  daemon.push_enabled = options.push;
  daemon.pull_interval_ms = std::int64_t{config.pull.interval_seconds} * 1000;
  daemon.push_interval_ms = std::int64_t{config.push.interval_seconds} * 1000;
  daemon.watch_store = options.push && options.watch_store ? store_.get() : nullptr;
  const int probe_timeout_ms = options.probe_timeout_ms;
  daemon.probe = [parent, probe_timeout_ms] { return parent->Probe(probe_timeout_ms); };
  daemon.log_level = options.log_level;
  daemon.log = options.log;
  state->daemon = std::make_unique<SyncDaemon>(options.pull ? pull : SyncStepFn(),
                                               options.push ? push : SyncStepFn(), daemon);
  FHIRSYNC_RETURN_IF_ERROR(state->daemon->Start());
  daemon_ = std::move(state);
  return Status::Ok();
}

void Node::TriggerPush() {
  std::lock_guard<std::mutex> lock(daemon_mutex_);
  if (daemon_) daemon_->daemon->Trigger();
}

SyncDaemonReport Node::StopDaemon() {
  std::unique_ptr<DaemonState> state;
  {
    std::lock_guard<std::mutex> lock(daemon_mutex_);
    state = std::move(daemon_);
  }
  if (!state) return SyncDaemonReport{};
  state->daemon->Stop();
  return state->daemon->Report();
}

}  // namespace fhirsync
