// ObserveSync (see fhirsync/sync_observer.h).

#include "fhirsync/sync_observer.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <utility>
#include <vector>

#include "fhirsync/base/text_util.h"
#include "fhirsync/parent_identity.h"
#include "fhirsync/resource.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {
namespace {

// More than a facility ever queues; status lists none of them one by one.
constexpr std::int64_t kOutboxLimit = 10'000'000;
constexpr std::int64_t kConflictLimit = 100'000;
constexpr std::size_t kConflictExamples = 3;

ObservedItem ObservedFrom(const OutboxItem& item) {
  ObservedItem observed;
  observed.seq = item.seq;
  observed.type = item.type;
  observed.id = item.id;
  observed.outcome = item.outcome;
  observed.http_status = item.last_http_status;
  observed.message = item.message;
  observed.at_ms = item.at_ms;
  observed.next_attempt_ms = item.next_attempt_ms;
  observed.attempts = item.attempts;
  return observed;
}

StatusOr<std::vector<ObservedItem>> ItemsIn(LocalStore* store, const char* state) {
  OutboxQuery query;
  query.states = {state};
  query.limit = kOutboxLimit;
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items, store->ListOutbox(query));
  std::vector<ObservedItem> observed;
  observed.reserve(items.size());
  for (const OutboxItem& item : items) observed.push_back(ObservedFrom(item));
  return observed;
}

bool IsAuthRefusal(const Status& status) {
  return status.code() == StatusCode::kUnauthenticated ||
         status.code() == StatusCode::kPermissionDenied;
}

// The node's configuration with every plugin's HTTP timeouts cut to
// `timeout_ms`, so that asking for the lag never waits longer than that
// per request. Plugins that do not speak HTTP ignore these options.
NodeConfig WithTimeouts(NodeConfig config, int timeout_ms) {
  const std::string limit = std::to_string(timeout_ms);
  for (PluginSpec& plugin : config.plugins.load) {
    for (const char* key : {"timeout_ms", "connect_timeout_ms"}) {
      auto it = plugin.options.find(key);
      long configured = 0;
      if (it != plugin.options.end()) {
        const std::string& text = it->second;
        std::from_chars(text.data(), text.data() + text.size(), configured);
      }
      if (configured <= 0 || configured > timeout_ms) {
        plugin.options[key] = limit;
      }
    }
  }
  return config;
}

void MeasureLag(LocalStore* store, const NodeConfig& config, const ObserveOptions& options,
                const std::string& parent_node_id, SyncObservations& o);

// Asks the parent who it is, then how far behind its feed this node is.
// Fills the parent part of `o`.
void AskParent(LocalStore* store, const NodeConfig& config, const ObserveOptions& options,
               SyncObservations& o) {
  // A parent reached only through plugins cannot be asked who it is: its
  // feed is read through them under the node id set by hand.
  if (!ParentSpeaksHttp(config.parent.url)) {
    StatusOr<std::string> node_id = ConfiguredParentNodeId(config);
    if (!node_id.ok()) {
      o.parent_unreachable = node_id.status().message();
      o.parent_node_id_needed = true;
      return;
    }
    MeasureLag(store, config, options, *node_id, o);
    return;
  }
  std::unique_ptr<ParentLink> own_link;
  const ParentLink* link = options.parent;
  if (link == nullptr) {
    StatusOr<std::unique_ptr<ParentLink>> made = ParentLink::Create(config, options.node_dir);
    if (!made.ok()) {
      o.parent_unreachable = "this node's credentials cannot be read: " + made.status().message();
      return;
    }
    own_link = std::move(made).value();
    link = own_link.get();
  }
  StatusOr<std::string> reported = link->FetchNodeId(options.timeout_ms);
  if (!reported.ok()) {
    const Status& status = reported.status();
    if (IsAuthRefusal(status)) {
      o.parent_refuses = status.message();
      o.parent_unreachable = "it refuses this node's credentials";
      return;
    }
    o.parent_unreachable = status.message();
    return;
  }
  // A FHIR server that is not fhirsync does not name itself: it is followed
  // under parent.node_id, or (before the first pull stores it) the id the
  // first pull will derive from its address.
  bool learnt = false;
  StatusOr<std::string> node_id = ResolveParentNodeId(config, *reported, &learnt);
  if (!node_id.ok()) {
    o.parent_unreachable = node_id.status().message();
    return;
  }
  if (!config.pull.enabled) return;  // no feed to be behind of
  MeasureLag(store, config, options, *node_id, o);
}

// How far behind the feed of the parent `parent_node_id` this node is,
// asked through the transport plugins. Fills the lag part of `o`.
void MeasureLag(LocalStore* store, const NodeConfig& config, const ObserveOptions& options,
                const std::string& parent_node_id, SyncObservations& o) {
  if (!config.pull.enabled) return;  // no feed to be behind of
  std::vector<std::string> warnings;  // optional plugins skipped: the pull says so
  StatusOr<std::unique_ptr<SyncResourceManager>> manager = SyncResourceManager::Start(
      WithTimeouts(config, options.timeout_ms), options.node_dir, &warnings);
  if (!manager.ok()) {
    o.parent_unreachable = "the transport plugins did not start: " + manager.status().message();
    return;
  }
  PullOptions pull = PullOptionsFor(config, parent_node_id);
  pull.batch_size = std::max(1, pull.batch_size);
  pull.in_flight = std::max(1, pull.in_flight);
  StatusOr<std::unique_ptr<SyncPullService>> service =
      SyncPullService::Create(store, manager->get(), pull);
  if (!service.ok()) {
    o.parent_unreachable = "its change feed cannot be read: " + service.status().message();
    return;
  }
  StatusOr<PullLag> lag = (*service)->MeasureLag(options.timeout_ms);
  if (!lag.ok()) {
    if (IsAuthRefusal(lag.status())) {
      o.parent_refuses = lag.status().message();
      o.parent_unreachable = "it refuses this node's credentials";
    } else {
      o.parent_unreachable = lag.status().message();
    }
    return;
  }
  o.pull_lag_changes = lag->changes;
  o.pull_lag_at_least = !lag->complete;
  if (lag->changes > 0 && lag->oldest_ms > 0) {
    o.pull_lag_ms = std::max<std::int64_t>(0, o.now_ms - lag->oldest_ms);
  }
}

}  // namespace

StatusOr<SyncObservations> ObserveSync(LocalStore* store, const NodeConfig& config,
                                       const ObserveOptions& options) {
  if (store == nullptr) return InvalidArgumentError("status: a store is required");
  SyncObservations o;
  o.node_dir = options.node_dir;
  o.parent_url = config.parent.url;
  o.parent_node_id = config.parent.node_id;
  o.parent_auth = config.parent.auth;
  o.parent_through_plugins = !config.parent.url.empty() && !ParentSpeaksHttp(config.parent.url);
  o.now_ms = options.now_ms != 0 ? options.now_ms : NowMillis();
  // A node without a parent sends nothing anywhere: its outbox rows are not
  // waiting for anything, so there is nothing to report about them.
  if (config.parent.url.empty()) return o;

  FHIRSYNC_ASSIGN_OR_RETURN(ParentContact contact, store->GetParentContact());
  if (contact.last_contact_ms > 0) o.last_contact_ms = contact.last_contact_ms;
  if (contact.last_pull_ms > 0) o.last_pull_ms = contact.last_pull_ms;
  FHIRSYNC_ASSIGN_OR_RETURN(o.pending, ItemsIn(store, kOutboxPending));
  FHIRSYNC_ASSIGN_OR_RETURN(o.dead, ItemsIn(store, kOutboxDead));
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<ConflictRecord> conflicts,
                            store->ListConflicts(kConflictOpen, kConflictLimit));
  o.open_conflicts = static_cast<std::int64_t>(conflicts.size());
  for (std::size_t i = 0; i < conflicts.size() && i < kConflictExamples; ++i) {
    o.conflict_keys.push_back(conflicts[i].type + "/" + conflicts[i].id);
  }
  FHIRSYNC_ASSIGN_OR_RETURN(o.auth_trouble, store->PushPause());

  if (options.timeout_ms > 0) AskParent(store, config, options, o);
  return o;
}

}  // namespace fhirsync
