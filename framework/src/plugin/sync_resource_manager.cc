#include "fhirsync/sync_resource_manager.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}
template <typename T>
bool Contains(const std::vector<T>& list, T item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The starts of Find()'s two "no route" messages (IsNoRouteError).
constexpr std::string_view kNoPluginCarries = "no plugin carries ";
constexpr std::string_view kRoutesSends = "plugins.routes sends ";

std::string TypeLabel(std::string_view type, ResourceFormat format) {
  return std::string(type) + " (" + std::string(ResourceFormatName(format)) + ")";
}

Status ValidateCapabilities(const PluginDescription& plugin) {
  const TransportCapabilities& caps = plugin.capabilities;
  std::string who = "plugin '" + plugin.info.name + "'";
  if (!plugin.info.file.empty()) who += " (" + plugin.info.file + ")";
  if (caps.resource_types.empty()) {
    return FailedPreconditionError(who + " declares no resource types");
  }
  if (caps.operations.empty()) return FailedPreconditionError(who + " declares no operations");
  if (caps.formats.empty()) return FailedPreconditionError(who + " declares no formats");
  for (const std::string& type : caps.resource_types) {
    if (type != kAnyResourceType && !FormatOfType(type).has_value()) {
      return FailedPreconditionError(who + " declares resource type '" + EscapeForMessage(type) +
                                     "', which is neither a FHIR type nor an OpenMRS "
                                     "resource name");
    }
  }
  return Status::Ok();
}

// `key`: the config key naming the file, for the message.
StatusOr<std::string> ReadSecretFile(const std::string& file, const char* key) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return FailedPreconditionError(std::string(key) + " " + file + ": cannot read");
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return secret;
}

}  // namespace

StatusOr<std::unique_ptr<SyncResourceManager>> SyncResourceManager::Create(
    std::vector<LoadedPlugin> plugins, const std::map<std::string, std::string>& routes,
    const RoutingRequirements& requirements) {
  std::unique_ptr<SyncResourceManager> manager(new SyncResourceManager());
  std::map<std::string, std::size_t> by_name;
  for (LoadedPlugin& loaded : plugins) {
    if (loaded.transport == nullptr) {
      return InvalidArgumentError("plugin '" + loaded.info.name + "' has no transport object");
    }
    PluginDescription description{loaded.info, loaded.transport->GetCapabilities()};
    // A module built before ABI minor 2 has no StartExport/ReadExportFile in
    // its vtable: whatever its list says, `export` is never routed to it.
    if (!loaded.info.file.empty() && loaded.info.abi_minor < 2) {
      std::erase(description.capabilities.operations, TransportOperation::kExport);
    }
    if (!by_name.emplace(loaded.info.name, manager->plugins_.size()).second) {
      const PluginInfo& first = manager->plugins_[by_name[loaded.info.name]].info;
      return InvalidArgumentError("two plugins are named '" + EscapeForMessage(loaded.info.name) +
                                  "': " + first.file + " and " + loaded.info.file);
    }
    FHIRSYNC_RETURN_IF_ERROR(ValidateCapabilities(description));
    manager->plugins_.push_back(std::move(description));
    manager->transports_.push_back(std::move(loaded.transport));
  }
  const std::vector<PluginDescription>& all = manager->plugins_;

  // 1. Explicit routes.
  for (const auto& [type, plugin_name] : routes) {
    std::string key = "plugins.routes." + EscapeForMessage(type);
    std::optional<ResourceFormat> format = FormatOfType(type);
    if (!format.has_value()) {
      return InvalidArgumentError(key + ": '" + EscapeForMessage(type) +
                                  "' is neither a FHIR type nor an OpenMRS resource name");
    }
    auto it = by_name.find(plugin_name);
    if (it == by_name.end()) {
      return InvalidArgumentError(key + ": no plugin named '" + EscapeForMessage(plugin_name) +
                                  "' is loaded");
    }
    const TransportCapabilities& caps = all[it->second].capabilities;
    if (!Contains(caps.formats, *format) ||
        !(Contains(caps.resource_types, type) ||
          Contains(caps.resource_types, std::string_view(kAnyResourceType)))) {
      return FailedPreconditionError(key + ": plugin '" + plugin_name + "' does not carry " +
                                     TypeLabel(type, *format));
    }
    manager->routed_[type] = it->second;
    for (TransportOperation op : kAllTransportOperations) {
      if (!Contains(caps.operations, op)) continue;
      manager->named_[{type, op}] = it->second;
      manager->table_.push_back({type, *format, op, plugin_name, "route"});
    }
  }

  // Picks the highest-priority plugin among those `covers` accepts (kNone if
  // there is none); an ambiguity at the top is an error naming `what`.
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  auto choose = [&](const std::string& what, auto covers) -> StatusOr<std::size_t> {
    std::size_t best = kNone;
    std::size_t tied = kNone;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!covers(all[i].capabilities)) continue;
      if (best == kNone || all[i].capabilities.priority > all[best].capabilities.priority) {
        best = i;
        tied = kNone;
      } else if (all[i].capabilities.priority == all[best].capabilities.priority) {
        tied = i;
      }
    }
    if (tied != kNone) {
      return FailedPreconditionError(
          what + " is claimed by plugins '" + all[best].info.name + "' and '" +
          all[tied].info.name + "' at the same priority " +
          std::to_string(all[best].capabilities.priority) +
          "; add a route in plugins.routes or give one a higher priority");
    }
    return best;
  };

  // 2. Every type some plugin or the requirements name, by priority.
  std::set<std::string> named_types(requirements.types.begin(), requirements.types.end());
  for (const PluginDescription& plugin : all) {
    for (const std::string& type : plugin.capabilities.resource_types) {
      if (type != kAnyResourceType) named_types.insert(type);
    }
  }
  for (const std::string& type : named_types) {
    if (manager->routed_.count(type)) continue;
    std::optional<ResourceFormat> format = FormatOfType(type);
    if (!format.has_value()) {
      return InvalidArgumentError("resource type '" + EscapeForMessage(type) +
                                  "' is neither a FHIR type nor an OpenMRS resource name");
    }
    for (TransportOperation op : kAllTransportOperations) {
      std::string what = TypeLabel(type, *format) + " " + std::string(TransportOperationName(op));
      FHIRSYNC_ASSIGN_OR_RETURN(
          std::size_t best, choose(what, [&](const TransportCapabilities& caps) {
            return Contains(caps.formats, *format) && Contains(caps.operations, op) &&
                   (Contains(caps.resource_types, type) ||
                    Contains(caps.resource_types, std::string_view(kAnyResourceType)));
          }));
      if (best == kNone) continue;
      manager->named_[{type, op}] = best;
      manager->table_.push_back({type, *format, op, all[best].info.name,
                                 "priority " + std::to_string(all[best].capabilities.priority)});
    }
  }

  // 3. The "*" fallback per format, for types nobody names.
  for (ResourceFormat format : {ResourceFormat::kFhirJson, ResourceFormat::kOpenmrsRest}) {
    for (TransportOperation op : kAllTransportOperations) {
      std::string what = TypeLabel(kAnyResourceType, format) + " " +
                         std::string(TransportOperationName(op));
      FHIRSYNC_ASSIGN_OR_RETURN(
          std::size_t best, choose(what, [&](const TransportCapabilities& caps) {
            return Contains(caps.formats, format) && Contains(caps.operations, op) &&
                   Contains(caps.resource_types, std::string_view(kAnyResourceType));
          }));
      if (best == kNone) continue;
      manager->wildcard_[{format, op}] = best;
      manager->table_.push_back({kAnyResourceType, format, op, all[best].info.name,
                                 "priority " + std::to_string(all[best].capabilities.priority)});
    }
  }

  // 4. What the node needs must be carried.
  for (const std::string& type : requirements.types) {
    for (TransportOperation op : requirements.operations) {
      StatusOr<Route> route = manager->Find(type, op);
      if (!route.ok()) return route.status();
    }
  }
  return manager;
}

StatusOr<TransportSettings> TransportSettingsFor(const NodeConfig& config,
                                                 const std::string& node_dir) {
  TransportSettings settings;
  settings.node_id = config.node_id;
  // The limits on what is read from the parent, under their config paths:
  // the loader hands them to every plugin beside its own options
  // (HttpPluginSettings reads them).
  settings.options[kMaxAnswerBytesOption] = std::to_string(config.parent.max_answer_bytes);
  settings.options[kRequestDeadlineOption] =
      std::to_string(config.parent.request_deadline_seconds);
  settings.base_url = config.parent.url;
  auto in_node_dir = [&node_dir](const std::string& name) {
    fs::path file(name);
    return (file.is_relative() ? fs::path(node_dir) / file : file).string();
  };
  const ParentConfig& parent = config.parent;
  settings.auth_scheme = parent.auth.empty() ? (parent.user.empty() ? "none" : "basic")
                                             : parent.auth;
  if (settings.auth_scheme == "basic") {
    settings.user = parent.user;
    if (!parent.password_file.empty()) {
      FHIRSYNC_ASSIGN_OR_RETURN(settings.password,
                                ReadSecretFile(in_node_dir(parent.password_file),
                                               "parent.password_file"));
    }
  } else if (settings.auth_scheme == "bearer") {
    if (parent.token_file.empty()) {
      return InvalidArgumentError("parent.auth bearer needs parent.token_file");
    }
    FHIRSYNC_ASSIGN_OR_RETURN(settings.token,
                              ReadSecretFile(in_node_dir(parent.token_file), "parent.token_file"));
  } else if (settings.auth_scheme == "smart") {
    if (parent.client_id.empty() || parent.key_file.empty()) {
      return InvalidArgumentError("parent.auth smart needs parent.client_id and parent.key_file");
    }
    settings.client_id = parent.client_id;
    settings.key_file = in_node_dir(parent.key_file);
    settings.scope = parent.scope;
  }
  if (!config.parent.ca_file.empty()) {
    fs::path ca(config.parent.ca_file);
    if (ca.is_relative()) ca = fs::path(node_dir) / ca;
    settings.options[kParentCaFileOption] = ca.string();
  }
  return settings;
}

std::string PluginDirFor(const NodeConfig& config, const std::string& node_dir) {
  const std::string& dir = config.plugins.dir;
  if (dir.empty()) return DefaultPluginDir();
  if (fs::path(dir).is_relative()) return (fs::path(node_dir) / dir).string();
  return dir;
}

RoutingRequirements RoutingRequirementsFor(const NodeConfig& config) {
  RoutingRequirements requirements;
  if (config.parent.url.empty()) return requirements;
  requirements.types = config.pull.types;
  if (config.pull.enabled) requirements.operations.push_back(TransportOperation::kRead);
  if (config.push.enabled) {
    requirements.operations.push_back(TransportOperation::kCreate);
    requirements.operations.push_back(TransportOperation::kUpdate);
  }
  return requirements;
}

StatusOr<std::unique_ptr<SyncResourceManager>> SyncResourceManager::Start(
    const NodeConfig& config, const std::string& node_dir, std::vector<std::string>* warnings) {
  FHIRSYNC_ASSIGN_OR_RETURN(TransportSettings settings, TransportSettingsFor(config, node_dir));
  FHIRSYNC_ASSIGN_OR_RETURN(
      std::vector<LoadedPlugin> plugins,
      LoadConfiguredPlugins(config.plugins, PluginDirFor(config, node_dir), settings, warnings));
  return Create(std::move(plugins), config.plugins.routes, RoutingRequirementsFor(config));
}

StatusOr<Route> SyncResourceManager::Find(std::string_view type,
                                         TransportOperation operation) const {
  std::string op_name(TransportOperationName(operation));
  auto routed = routed_.find(std::string(type));
  auto named = named_.find({std::string(type), operation});
  if (named != named_.end()) {
    return Route{plugins_[named->second].info.name, transports_[named->second]};
  }
  if (routed != routed_.end()) {
    return FailedPreconditionError(std::string(kRoutesSends) + EscapeForMessage(type) +
                                   " to plugin '" + plugins_[routed->second].info.name +
                                   "', which does not support " + op_name);
  }
  std::optional<ResourceFormat> format = FormatOfType(type);
  if (!format.has_value()) {
    return InvalidArgumentError("resource type '" + EscapeForMessage(type) +
                                "' is neither a FHIR type nor an OpenMRS resource name");
  }
  auto wildcard = wildcard_.find({*format, operation});
  if (wildcard != wildcard_.end()) {
    return Route{plugins_[wildcard->second].info.name, transports_[wildcard->second]};
  }
  std::string loaded;
  for (const PluginDescription& plugin : plugins_) {
    loaded += (loaded.empty() ? "" : ", ") + plugin.info.name;
  }
  return FailedPreconditionError(std::string(kNoPluginCarries) + TypeLabel(type, *format) + " for " +
                                 op_name + " (loaded: " + (loaded.empty() ? "none" : loaded) +
                                 ")");
}

bool IsNoRouteError(const Status& status) {
  if (status.code() != StatusCode::kFailedPrecondition) return false;
  const std::string& message = status.message();
  return message.find(kNoPluginCarries) != std::string::npos ||
         message.find(kRoutesSends) != std::string::npos;
}

}  // namespace fhirsync
