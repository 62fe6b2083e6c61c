#include "fhirsync/sync_pull_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <utility>

#include "fhirsync/audit_log.h"
#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

using Key = std::pair<std::string, std::string>;

// A type to ask the routing table with when the node subscribes to every
// type: one the plugin names, or a representative of the format its "*"
// covers.
std::string ProbeTypeFor(const PluginDescription& plugin) {
  for (const std::string& type : plugin.capabilities.resource_types) {
    if (type != kAnyResourceType) return type;
  }
  for (ResourceFormat format : plugin.capabilities.formats) {
    if (format == ResourceFormat::kFhirJson) return "Patient";
    if (format == ResourceFormat::kOpenmrsRest) return "patient";
  }
  return "Patient";
}

StatusOr<Route> FindHistoryRoute(const SyncResourceManager& manager,
                                 const std::vector<std::string>& types) {
  if (!types.empty()) {
    std::optional<Route> chosen;
    for (const std::string& type : types) {
      StatusOr<Route> found = manager.Find(type, TransportOperation::kHistory);
      // A type whose bodies a plugin without a feed carries (an OpenMRS REST
      // resource beside the fhir plugin's Atom feed): the feed chosen for
      // the others lists it too, as the one below does when none is chosen.
      if (!found.ok() && IsNoRouteError(found.status())) continue;
      FHIRSYNC_ASSIGN_OR_RETURN(Route route, std::move(found));
      if (chosen && chosen->plugin != route.plugin) {
        return FailedPreconditionError(
            "the subscribed types are routed to two change feeds ('" + chosen->plugin +
            "' and '" + route.plugin + "'); a node pulls from one history transport");
      }
      chosen = std::move(route);
    }
    if (chosen) return *chosen;
  }
  std::vector<const PluginDescription*> offering;
  for (const PluginDescription& plugin : manager.plugins()) {
    const auto& ops = plugin.capabilities.operations;
    if (std::find(ops.begin(), ops.end(), TransportOperation::kHistory) != ops.end()) {
      offering.push_back(&plugin);
    }
  }
  if (offering.empty()) {
    return FailedPreconditionError(
        "no loaded plugin offers the history operation, so there is no change feed to pull");
  }
  if (offering.size() > 1) {
    return FailedPreconditionError("several plugins offer the history operation ('" +
                                   offering[0]->info.name + "', '" + offering[1]->info.name +
                                   "'); name the subscribed types (pull.types) and route them");
  }
  return manager.Find(ProbeTypeFor(*offering[0]), TransportOperation::kHistory);
}

std::int64_t ElapsedMs(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

// A pulled copy the store kept beside a pending or dead local change
// (kConflict) that holds exactly that change's content (the same content
// hash; e.g. both sides imported one file, or two children created the same
// id alike): it is no conflict. The change is recorded as delivered and the
// parent's version as agreed (the store then settles the conflict row it just
// made), so that the push sends nothing. Returns whether it was so.
StatusOr<bool> AgreeWhenTheSame(LocalStore& store, const PulledResource& in,
                                const std::string& transport) {
  if (in.deleted) return false;
  StatusOr<Resource> local = store.Get(in.type, in.id);
  if (!local.ok()) {
    if (local.status().code() == StatusCode::kNotFound) return false;
    return local.status();
  }
  if (local->deleted || local->content_hash != ContentHashOf(in.format, in.body)) {
    return false;
  }
  OutboxQuery query;
  query.type = in.type;
  query.id = in.id;
  query.states = {kOutboxPending, kOutboxDead};
  query.limit = 100000;
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> open, store.ListOutbox(query));
  // The newest waiting change must be the version compared; a newer local
  // edit is left to the push (it goes as an update over this agreement).
  if (open.empty() || open.back().version != local->version) return false;
  PushRecord record;
  const std::string message = "the parent's version " + EscapeForMessage(in.remote_version, 40) +
                              " holds the same content as this change: agreed, nothing to send";
  for (const OutboxItem& item : open) {
    OutboxTransition t;
    t.seq = item.seq;
    t.state = kOutboxSent;
    t.outcome = "accepted";
    t.message = message;
    t.force = false;
    record.transitions.push_back(std::move(t));
  }
  SyncState agreed;
  agreed.type = in.type;
  agreed.id = in.id;
  agreed.remote_version = in.remote_version;
  agreed.content_hash = local->content_hash;
  agreed.local_version = local->version;
  record.agreed.push_back(std::move(agreed));
  AuditRecord row;
  row.operation = "pull-apply";
  row.type = in.type;
  row.id = in.id;
  row.local_version = local->version;
  row.remote_version = in.remote_version;
  row.transport = transport;
  row.outcome = "agreed";
  row.message = message;
  row.correlation_id = open.front().correlation_id;
  record.audit.push_back(std::move(row));
  record.parent_answered = true;
  FHIRSYNC_RETURN_IF_ERROR(store.RecordPush(record).status());
  return true;
}

}  // namespace

PullOptions PullOptionsFor(const NodeConfig& config, const std::string& parent_node_id) {
  PullOptions pull;
  pull.parent_node_id = parent_node_id;
  pull.feed = config.pull.feed;
  pull.types = config.pull.types;
  pull.batch_size = config.pull.batch_size;
  pull.in_flight = config.pull.in_flight;
  return pull;
}

StatusOr<std::unique_ptr<SyncPullService>> SyncPullService::Create(
    LocalStore* store, const SyncResourceManager* manager, PullOptions options) {
  if (store == nullptr || manager == nullptr) {
    return InvalidArgumentError("pull: a store and a resource manager are required");
  }
  if (options.parent_node_id.empty()) {
    return InvalidArgumentError(
        "pull: the parent's node id is unknown (parent.node_id); it keys the cursor");
  }
  if (options.batch_size < 1) {
    return InvalidArgumentError("pull.batch_size must be at least 1, not " +
                                std::to_string(options.batch_size));
  }
  if (options.in_flight < 1) {
    return InvalidArgumentError("pull.in_flight must be at least 1, not " +
                                std::to_string(options.in_flight));
  }
  if (options.page_entries < 0 || options.max_pages < 0) {
    return InvalidArgumentError("pull: page_entries and max_pages must not be negative");
  }
  for (const std::string& type : options.types) {
    if (!FormatOfType(type).has_value()) {
      return InvalidArgumentError("pull.types: '" + EscapeForMessage(type) +
                                  "' is neither a FHIR type nor an OpenMRS resource name");
    }
  }
  FHIRSYNC_ASSIGN_OR_RETURN(Route history, FindHistoryRoute(*manager, options.types));
  return std::unique_ptr<SyncPullService>(
      new SyncPullService(store, manager, std::move(options), std::move(history)));
}

SyncPullService::SyncPullService(LocalStore* store, const SyncResourceManager* manager,
                                 PullOptions options, Route history)
    : store_(store),
      manager_(manager),
      options_(std::move(options)),
      history_(std::move(history)) {}

int SyncPullService::AddListener(Listener listener) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  const int id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void SyncPullService::RemoveListener(int id) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  listeners_.erase(id);
}

void SyncPullService::Notify(const std::vector<PulledResult>& results) {
  std::vector<Listener> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    for (const auto& [id, listener] : listeners_) listeners.push_back(listener);
  }
  if (listeners.empty()) return;
  for (const PulledResult& result : results) {
    if (result.outcome != PullOutcome::kApplied) continue;
    for (const Listener& listener : listeners) listener(result);
  }
}

void SyncPullService::AuditFailure(const std::string& what, const CallOutcome& outcome) {
  AuditRecord row;
  row.operation = "pull-page";
  row.transport = history_.plugin;
  row.http_status = outcome.http_status;
  switch (outcome.status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      row.outcome = "transient";
      break;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      row.outcome = "auth";
      break;
    default:
      row.outcome = "failed";
  }
  row.message = what + ": " + outcome.status.message() + "; the cursor did not move";
  // The failure is already being returned; a store that cannot record it
  // would report its own error on the next write.
  AuditLog(store_).Append(row).status().IgnoreError();
}

Status SyncPullService::FetchBodies(std::vector<ChangeEntry*>& need, PullSummary& summary) {
  if (need.empty()) return Status::Ok();
  // One unit of work: up to batch_size ids of one type.
  struct Chunk {
    std::string type;
    std::vector<ChangeEntry*> entries;
    Route route;
    bool many = true;
    CallOutcome failure;
    std::int64_t requests = 0;
  };
  std::map<std::string, std::vector<ChangeEntry*>> by_type;
  for (ChangeEntry* entry : need) by_type[entry->resource.type].push_back(entry);
  std::vector<Chunk> chunks;
  for (auto& [type, entries] : by_type) {
    Route route;
    bool many = true;
    StatusOr<Route> found = manager_->Find(type, TransportOperation::kReadMany);
    if (!found.ok()) {
      many = false;
      found = manager_->Find(type, TransportOperation::kRead);
    }
    if (!found.ok()) return found.status();
    route = *found;
    const std::size_t size = static_cast<std::size_t>(options_.batch_size);
    for (std::size_t start = 0; start < entries.size(); start += size) {
      Chunk chunk;
      chunk.type = type;
      chunk.route = route;
      chunk.many = many;
      chunk.entries.assign(entries.begin() + static_cast<std::ptrdiff_t>(start),
                           entries.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(entries.size(), start + size)));
      chunks.push_back(std::move(chunk));
    }
  }

  // Each chunk fills its own entries, so workers share nothing but the
  // index of the next chunk.
  auto fill = [](ChangeEntry& entry, const ReadResult& item) -> bool {
    if (item.status.ok() || item.resource.deleted) {
      RemoteResource asked = std::move(entry.resource);
      entry.resource = item.resource;
      // The feed's names win: the request was for them.
      entry.resource.type = std::move(asked.type);
      entry.resource.id = std::move(asked.id);
      if (entry.resource.version.empty()) entry.resource.version = std::move(asked.version);
      entry.has_body = true;
      return true;
    }
    return false;
  };
  auto work = [&](Chunk& chunk) {
    if (chunk.many) {
      std::vector<std::string> ids;
      for (ChangeEntry* entry : chunk.entries) ids.push_back(entry->resource.id);
      ReadManyResult result = chunk.route.transport->ReadMany(chunk.type, ids);
      ++chunk.requests;
      if (!result.status.ok()) {
        chunk.failure = result;
        return;
      }
      if (result.items.size() != ids.size()) {
        chunk.failure.status = InternalError(
            "read-many of " + std::to_string(ids.size()) + " " + chunk.type + " returned " +
            std::to_string(result.items.size()) + " results");
        return;
      }
      for (std::size_t i = 0; i < ids.size(); ++i) {
        ChangeEntry& entry = *chunk.entries[i];
        const ReadResult& item = result.items[i];
        if (fill(entry, item)) continue;
        if (item.status.code() == StatusCode::kNotFound) continue;  // left without a body
        chunk.failure = item;
        return;
      }
    } else {
      for (ChangeEntry* entry : chunk.entries) {
        ReadResult item = chunk.route.transport->Read(chunk.type, entry->resource.id);
        ++chunk.requests;
        if (fill(*entry, item)) continue;
        if (item.status.code() == StatusCode::kNotFound) continue;
        chunk.failure = item;
        return;
      }
    }
  };

  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < chunks.size(); i = next++) work(chunks[i]);
  };
  const std::size_t threads =
      std::min(chunks.size(), static_cast<std::size_t>(options_.in_flight));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
    for (std::thread& thread : pool) thread.join();
  }
  for (const Chunk& chunk : chunks) {
    summary.requests += chunk.requests;
    if (!chunk.failure.status.ok()) {
      AuditFailure("fetching " + chunk.type + " from '" + chunk.route.plugin + "'",
                   chunk.failure);
      return chunk.failure.status.WithContext("pull: fetching " + chunk.type + " bodies");
    }
  }
  return Status::Ok();
}

Status SyncPullService::PullOnePage(const std::string& position, PullSummary& summary,
                                    bool& more, std::string& next_position) {
  const int max_entries = options_.page_entries > 0
                              ? options_.page_entries
                              : options_.batch_size * options_.in_flight;
  ChangePage page = history_.transport->ReadChanges(position, max_entries);
  if (!page.status.ok()) {
    AuditFailure("reading the change feed through '" + history_.plugin + "'", page);
    return page.status.WithContext("pull: reading the change feed");
  }
  more = page.more;
  next_position = page.next_position;

  // Keep the subscribed types, and of several entries for one resource only
  // the last (the newest): one fetch gets its current copy anyway.
  const std::set<std::string> wanted(options_.types.begin(), options_.types.end());
  std::vector<ChangeEntry> entries;
  std::map<Key, std::size_t> last_of;
  for (ChangeEntry& entry : page.entries) {
    if (!wanted.empty() && wanted.count(entry.resource.type) == 0) continue;
    ++summary.entries;
    Key key(entry.resource.type, entry.resource.id);
    auto it = last_of.find(key);
    if (it != last_of.end()) {
      entries[it->second] = std::move(entry);
      ++summary.skipped;
      continue;
    }
    last_of.emplace(std::move(key), entries.size());
    entries.push_back(std::move(entry));
  }

  // What this node already agreed is not fetched again.
  std::vector<Key> keys;
  keys.reserve(entries.size());
  for (const ChangeEntry& entry : entries) keys.emplace_back(entry.resource.type, entry.resource.id);
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<SyncState> states, store_->GetSyncStates(keys));
  std::map<Key, std::string> agreed;
  for (SyncState& state : states) {
    agreed.emplace(Key(std::move(state.type), std::move(state.id)),
                   std::move(state.remote_version));
  }
  std::vector<ChangeEntry*> need;
  std::vector<bool> keep(entries.size(), true);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    ChangeEntry& entry = entries[i];
    auto it = agreed.find(Key(entry.resource.type, entry.resource.id));
    if (it != agreed.end() && !entry.resource.version.empty() &&
        !IsNewerRemoteVersion(entry.resource.version, it->second)) {
      keep[i] = false;
      ++summary.skipped;
      continue;
    }
    if (entry.has_body) continue;
    if (entry.action == ChangeAction::kDelete) {
      entry.resource.deleted = true;
      entry.resource.body.clear();
      entry.has_body = true;
      continue;
    }
    need.push_back(&entry);
  }
  FHIRSYNC_RETURN_IF_ERROR(FetchBodies(need, summary));

  PullPage apply;
  apply.parent_node_id = options_.parent_node_id;
  apply.feed = options_.feed;
  apply.position = page.next_position;
  apply.transport = history_.plugin;
  apply.completes_pull = !page.more;
  std::int64_t received = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!keep[i]) continue;
    ChangeEntry& entry = entries[i];
    if (!entry.has_body) {
      // The parent no longer has it (404 without a tombstone): nothing to
      // apply; a later feed entry will carry whatever replaced it.
      ++summary.skipped;
      continue;
    }
    ++received;
    PulledResource resource;
    resource.type = entry.resource.type;
    resource.id = entry.resource.id;
    resource.remote_version = entry.resource.version;
    resource.deleted = entry.resource.deleted;
    resource.format = entry.resource.format;
    resource.body = std::move(entry.resource.body);
    apply.resources.push_back(std::move(resource));
  }
  summary.fetched += received;
  AuditRecord page_row;
  page_row.operation = "pull-page";
  page_row.transport = history_.plugin;
  page_row.outcome = "ok";
  page_row.message = std::to_string(page.entries.size()) + " feed entries, " +
                     std::to_string(apply.resources.size()) + " resources; position " +
                     EscapeForMessage(page.next_position, 200);
  apply.audit.push_back(std::move(page_row));
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<PulledResult> results, store_->ApplyPull(apply));
  ++summary.pages;
  for (PulledResult& result : results) {
    if (result.outcome != PullOutcome::kConflict) continue;
    auto in = std::find_if(apply.resources.begin(), apply.resources.end(),
                           [&](const PulledResource& r) {
                             return r.type == result.type && r.id == result.id &&
                                    r.remote_version == result.remote_version;
                           });
    if (in == apply.resources.end()) continue;
    FHIRSYNC_ASSIGN_OR_RETURN(bool same, AgreeWhenTheSame(*store_, *in, history_.plugin));
    if (same) {
      result.outcome = PullOutcome::kUnchanged;
      result.message = "same content as the local change: agreed";
    }
  }
  for (const PulledResult& result : results) {
    switch (result.outcome) {
      case PullOutcome::kApplied: ++summary.applied; break;
      case PullOutcome::kUnchanged: ++summary.unchanged; break;
      case PullOutcome::kSkipped: ++summary.skipped; break;
      case PullOutcome::kConflict: ++summary.conflicts; break;
      case PullOutcome::kRejected: ++summary.rejected; break;
    }
  }
  Notify(results);
  return Status::Ok();
}

StatusOr<std::string> SyncPullService::CursorPosition() {
  FHIRSYNC_ASSIGN_OR_RETURN(std::optional<PullCursor> cursor,
                            store_->GetCursor(options_.parent_node_id));
  if (cursor && cursor->feed != options_.feed) {
    return FailedPreconditionError(
        "pull: the cursor for parent '" + EscapeForMessage(options_.parent_node_id) +
        "' is a position in its '" + EscapeForMessage(cursor->feed) + "' feed, not '" +
        EscapeForMessage(options_.feed) + "'; positions of one feed mean nothing in another");
  }
  return cursor ? cursor->position : std::string();
}

StatusOr<PullLag> SyncPullService::MeasureLag(std::int64_t budget_ms) {
  std::lock_guard<std::mutex> lock(run_mutex_);
  const auto start = std::chrono::steady_clock::now();
  FHIRSYNC_ASSIGN_OR_RETURN(std::string position, CursorPosition());
  const std::set<std::string> wanted(options_.types.begin(), options_.types.end());
  PullLag lag;
  while (true) {
    // Big pages: only references are read here, no bodies to fetch.
    ChangePage page = history_.transport->ReadChanges(position, 1000);
    if (!page.status.ok()) return page.status.WithContext("reading the parent's change feed");
    std::vector<Key> keys;
    for (const ChangeEntry& entry : page.entries) {
      if (wanted.empty() || wanted.count(entry.resource.type) != 0) {
        keys.emplace_back(entry.resource.type, entry.resource.id);
      }
    }
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<SyncState> states, store_->GetSyncStates(keys));
    std::map<Key, std::string> agreed;
    for (SyncState& state : states) {
      agreed.emplace(Key(std::move(state.type), std::move(state.id)),
                     std::move(state.remote_version));
    }
    for (const ChangeEntry& entry : page.entries) {
      if (!wanted.empty() && wanted.count(entry.resource.type) == 0) continue;
      auto it = agreed.find(Key(entry.resource.type, entry.resource.id));
      // The same rule as a pull's: not newer than agreed is not applied.
      if (it != agreed.end() && !entry.resource.version.empty() &&
          !IsNewerRemoteVersion(entry.resource.version, it->second)) {
        continue;
      }
      ++lag.changes;
      const std::int64_t at = entry.resource.last_updated_ms;
      if (at > 0 && (lag.oldest_ms == 0 || at < lag.oldest_ms)) lag.oldest_ms = at;
    }
    if (!page.more || page.next_position == position) break;
    position = page.next_position;
    if (ElapsedMs(start) >= budget_ms) {
      lag.complete = false;
      break;
    }
  }
  return lag;
}

StatusOr<PullSummary> SyncPullService::Run(const ProgressCallback& progress) {
  std::lock_guard<std::mutex> lock(run_mutex_);
  const auto start = std::chrono::steady_clock::now();
  PullSummary summary;
  FHIRSYNC_ASSIGN_OR_RETURN(std::string position, CursorPosition());
  for (std::int64_t pages = 0; options_.max_pages == 0 || pages < options_.max_pages; ++pages) {
    bool more = false;
    std::string next_position;
    Status status = PullOnePage(position, summary, more, next_position);
    summary.elapsed_ms = ElapsedMs(start);
    if (!status.ok()) return status;
    if (progress) progress(summary);
    position = std::move(next_position);
    // "Nothing more" ends the run; what the parent writes meanwhile is the
    // next run's.
    if (!more) {
      summary.at_head = true;
      break;
    }
  }
  summary.elapsed_ms = ElapsedMs(start);
  return summary;
}

}  // namespace fhirsync
