// SyncResourceManager: decides which transport plugin carries each
// (resource type, operation), once, at start-up.
//
// Routing rule, in order:
//   1. an explicit route in the config (`plugins.routes`: type -> plugin)
//      sends every operation that plugin supports for the type to it;
//   2. otherwise the highest-priority plugin whose capabilities cover the
//      type (by name or "*") and the operation, in the type's format: a FHIR
//      type (upper-case initial, "Patient") goes only to plugins carrying
//      fhir+json, an OpenMRS REST name (lower case, "visittype") only to
//      plugins carrying openmrs-rest. That is how "FHIR before REST" holds:
//      a resource is never sent in a representation it is not stored in,
//      and no priority can override that.
// Start-up stops, with a message naming the culprit, when two plugins have
// one name, when two plugins cover one (type, operation) at the same top
// priority, when a route names an unknown plugin or one that cannot carry
// the type, and when a required type has no plugin for a required
// operation.
//
// Thread safety: immutable after Create(); every method is const and
// thread-safe. The transports it hands out are shared (see TransportPlugin).

#ifndef FHIRSYNC_SYNC_RESOURCE_MANAGER_H_
#define FHIRSYNC_SYNC_RESOURCE_MANAGER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/plugin_loader.h"
#include "fhirsync/status.h"

namespace fhirsync {

// What must be routable for the node to work.
struct RoutingRequirements {
  std::vector<std::string> types;  // e.g. the subscribed types; empty: none checked
  std::vector<TransportOperation> operations;  // each required for every type
};

// The transport chosen for one (type, operation).
struct Route {
  std::string plugin;  // the plugin's name, for the audit log
  std::shared_ptr<TransportPlugin> transport;
};

// One row of the routing table, for display.
struct RouteEntry {
  std::string type;  // a type name, or "*" for the fallback of a format
  ResourceFormat format = ResourceFormat::kFhirJson;
  TransportOperation operation = TransportOperation::kRead;
  std::string plugin;
  std::string reason;  // "route", "priority 10", "only candidate"
};

// A loaded plugin and what it declared.
struct PluginDescription {
  PluginInfo info;
  TransportCapabilities capabilities;
};

class SyncResourceManager {
 public:
  // Validates each plugin's capabilities and builds the table. `plugins` may
  // be real (LoadConfiguredPlugins) or in-process objects. InvalidArgument
  // (config mistakes: duplicate names, bad routes) or FailedPrecondition
  // (ambiguity, an uncarried type, a plugin declaring nothing usable), each
  // naming the plugin and the type.
  static StatusOr<std::unique_ptr<SyncResourceManager>> Create(
      std::vector<LoadedPlugin> plugins, const std::map<std::string, std::string>& routes,
      const RoutingRequirements& requirements);

  // Start-up from a node's config: reads the parent's credentials
  // (parent.password_file, relative to `node_dir`), loads and configures
  // config.plugins (dir relative to `node_dir`, empty: DefaultPluginDir()),
  // and requires every subscribed type (pull.types) to be carried for read
  // (pull enabled) and create + update (push enabled). Warnings about
  // skipped optional plugins go to `warnings` (may be null).
  static StatusOr<std::unique_ptr<SyncResourceManager>> Start(const NodeConfig& config,
                                                                const std::string& node_dir,
                                                                std::vector<std::string>* warnings);

  // The transport for (type, operation). FailedPrecondition naming both when
  // none carries it (a config gap: the item cannot be sent as configured;
  // IsNoRouteError tells it apart).
  StatusOr<Route> Find(std::string_view type, TransportOperation operation) const;

  // The plugins in load order, and the routing table: every (type,
  // operation) with a route, for named types and the "*" fallbacks.
  const std::vector<PluginDescription>& plugins() const { return plugins_; }
  const std::vector<RouteEntry>& table() const { return table_; }

 private:
  SyncResourceManager() = default;

  std::vector<PluginDescription> plugins_;
  std::vector<std::shared_ptr<TransportPlugin>> transports_;  // parallel to plugins_
  std::vector<RouteEntry> table_;
  // (type, operation) -> index into plugins_; for named types.
  std::map<std::pair<std::string, TransportOperation>, std::size_t> named_;
  // (format, operation) -> index; the "*" fallback for types nobody names.
  std::map<std::pair<ResourceFormat, TransportOperation>, std::size_t> wildcard_;
  // Types that have an explicit route: they never fall back to "*".
  std::map<std::string, std::size_t> routed_;
};

// The pieces of Start(), for tools that show what it would do
// (`fhirsync plugins`):
// The settings every plugin is configured with: node id, parent url, user
// and the password read from parent.password_file (relative to `node_dir`).
// FailedPrecondition naming the file when it cannot be read.
StatusOr<TransportSettings> TransportSettingsFor(const NodeConfig& config,
                                                 const std::string& node_dir);
// config.plugins.dir resolved: DefaultPluginDir() when empty, relative to
// `node_dir` when relative.
std::string PluginDirFor(const NodeConfig& config, const std::string& node_dir);
// What must be routable: nothing without a parent; else every pull.types
// entry for read (pull enabled) and create + update (push enabled).
RoutingRequirements RoutingRequirementsFor(const NodeConfig& config);

// Whether `status` (or a status wrapped around it with WithContext) is
// Find()'s "no plugin carries TYPE" or "plugins.routes sends TYPE to a plugin
// without the operation": a gap in this node's own configuration
// (plugins.load, plugins.routes), not a problem with the data or the parent.
bool IsNoRouteError(const Status& status);

}  // namespace fhirsync

#endif  // FHIRSYNC_SYNC_RESOURCE_MANAGER_H_
