// What every request handler needs (internal): the store, this node's id,
// the server limits, and the Atom page cache.

#ifndef FHIRSYNC_SERVER_SERVER_CONTEXT_H_
#define FHIRSYNC_SERVER_SERVER_CONTEXT_H_

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/sync_resource_manager.h"
#include "server/child_tracker.h"
#include "server/export_jobs.h"
#include "server/feed_cache.h"
#include "server/request_metrics.h"

namespace fhirsync::server {

struct ServerContext {
  LocalStore* store = nullptr;
  std::string node_id;
  ServerConfig config;
  FeedCache feed_cache;
  // For the admin API's actions that read from this node's parent (discard,
  // resubmit); null when the node has no parent transports.
  const SyncResourceManager* push_routes = nullptr;
  std::string parent_node_id = "parent";
  // Resource types beyond FHIR R4's that a FHIR write may store: those the
  // node's config names in pull.types and plugins.routes (fhir_ops.h).
  std::set<std::string, std::less<>> declared_types;
  // The host's business rule (NodeServer::Options::check_write); may be empty.
  std::function<Status(const Resource&)> check_write;

  // Operations (docs/operator-guide.md). The whole config and the node
  // folder, for /admin/status (ObserveSync); node_dir may be empty.
  NodeConfig node_config;
  std::string node_dir;
  // NodeServer::Options::extra_metrics and sync_now; either may be empty.
  std::function<std::string()> extra_metrics;
  std::function<StatusOr<std::string>(const std::string& side)> sync_now;
  RequestMetrics metrics;
  ChildTracker children;
  // The $export jobs; null when the server has no node folder to write
  // them in (NodeServer::Options::node_dir empty).
  std::unique_ptr<ExportJobs> exports;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_SERVER_CONTEXT_H_
