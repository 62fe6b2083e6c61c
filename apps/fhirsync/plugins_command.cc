// fhirsync plugins: what a node would load, what each plugin declares, and
// where each (type, operation) would go.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "fhirsync/config.h"
#include "fhirsync/plugin_loader.h"
#include "fhirsync/sync_resource_manager.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kHelp[] =
    "usage: fhirsync plugins [--plugin-dir P] [--json] [--dir D]\n"
    "\n"
    "Loads the node's transport plugins as `fhirsync serve` and `sync` would, and\n"
    "prints each plugin (name, version, plugin ABI, file), its capabilities, and\n"
    "the routing table: which plugin carries each (resource type, operation).\n"
    "Plugins that fail to load or configure are listed with the reason. With no\n"
    "plugins.load list in fhirsync.json, every fhirsync-<name>.so in the plugin\n"
    "folder is tried. Exits 1 if a required plugin fails or routing is refused.\n"
    "\n"
    "  --plugin-dir P  look for plugins in P instead of plugins.dir\n"
    "  --json          print {plugin_dir, plugins: [{name, version, file, abi,\n"
    "                  toolchain, capabilities: {resource_types, operations, formats,\n"
    "                  priority, auth_schemes}}], failed: [{name, file, optional,\n"
    "                  error}], routes: [{type, format, operation, plugin, reason}],\n"
    "                  error}\n"
    "  --dir D         the node folder (default: $FHIRSYNC_DIR or .); without a\n"
    "                  fhirsync.json there, defaults apply\n";

struct Failure {
  PluginSpec spec;
  std::string file;
  Status status;
};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "-" : out;
}

std::vector<std::string> OperationNames(const TransportCapabilities& caps) {
  std::vector<std::string> names;
  for (TransportOperation op : caps.operations) names.emplace_back(TransportOperationName(op));
  return names;
}

std::vector<std::string> FormatNames(const TransportCapabilities& caps) {
  std::vector<std::string> names;
  for (ResourceFormat format : caps.formats) names.emplace_back(ResourceFormatName(format));
  return names;
}

// Every fhirsync-<name>.so in `dir`, as optional specs, sorted by name.
std::vector<PluginSpec> DiscoverPlugins(const std::string& dir) {
  std::vector<PluginSpec> specs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    const std::string prefix = "fhirsync-";
    const std::string suffix = ".so";
    if (file.size() <= prefix.size() + suffix.size() || file.rfind(prefix, 0) != 0 ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    PluginSpec spec;
    spec.name = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    spec.file = file;
    spec.optional = true;
    specs.push_back(std::move(spec));
  }
  std::sort(specs.begin(), specs.end(),
            [](const PluginSpec& a, const PluginSpec& b) { return a.name < b.name; });
  return specs;
}

void PrintJson(const std::string& dir, const std::vector<PluginDescription>& plugins,
               const std::vector<Failure>& failures, const std::vector<RouteEntry>& routes,
               const Status& error) {
  JsonOutput out;
  out.StartObject();
  out.Field("plugin_dir", dir);
  out.Key("plugins");
  out.StartArray();
  for (const PluginDescription& p : plugins) {
    out.StartObject();
    out.Field("name", p.info.name);
    out.Field("version", p.info.version);
    out.Field("file", p.info.file);
    out.Field("abi", std::to_string(p.info.abi_major) + "." + std::to_string(p.info.abi_minor));
    out.Field("toolchain", p.info.toolchain);
    out.Key("capabilities");
    out.StartObject();
    auto list = [&](const char* key, const std::vector<std::string>& items) {
      out.Key(key);
      out.StartArray();
      for (const std::string& item : items) out.String(item);
      out.EndArray();
    };
    list("resource_types", p.capabilities.resource_types);
    list("operations", OperationNames(p.capabilities));
    list("formats", FormatNames(p.capabilities));
    out.Field("priority", p.capabilities.priority);
    list("auth_schemes", p.capabilities.auth_schemes);
    out.EndObject();
    out.EndObject();
  }
  out.EndArray();
  out.Key("failed");
  out.StartArray();
  for (const Failure& f : failures) {
    out.StartObject();
    out.Field("name", f.spec.name);
    out.Field("file", f.file);
    out.Field("optional", f.spec.optional);
    out.Field("error", f.status.ToString());
    out.EndObject();
  }
  out.EndArray();
  out.Key("routes");
  out.StartArray();
  for (const RouteEntry& r : routes) {
    out.StartObject();
    out.Field("type", r.type);
    out.Field("format", ResourceFormatName(r.format));
    out.Field("operation", TransportOperationName(r.operation));
    out.Field("plugin", r.plugin);
    out.Field("reason", r.reason);
    out.EndObject();
  }
  out.EndArray();
  if (!error.ok()) {
    out.Field("error", error.ToString());
  } else {
    out.Key("error");
    out.Null();
  }
  out.EndObject();
  out.Print();
}

void PrintText(const std::string& dir, const std::vector<PluginDescription>& plugins,
               const std::vector<Failure>& failures, const std::vector<RouteEntry>& routes,
               const Status& error) {
  std::cout << "plugin folder " << dir << "\n";
  if (plugins.empty()) std::cout << "no plugin loaded\n";
  for (const PluginDescription& p : plugins) {
    std::cout << "\n"
              << p.info.name << " " << p.info.version << "  (ABI " << p.info.abi_major << "."
              << p.info.abi_minor << ", " << p.info.file << ")\n"
              << "  types       " << Join(p.capabilities.resource_types) << "\n"
              << "  operations  " << Join(OperationNames(p.capabilities)) << "\n"
              << "  formats     " << Join(FormatNames(p.capabilities)) << "\n"
              << "  priority    " << p.capabilities.priority << "\n"
              << "  auth        " << Join(p.capabilities.auth_schemes) << "\n";
  }
  for (const Failure& f : failures) {
    std::cout << "\n"
              << f.spec.name << (f.spec.optional ? " (optional)" : "") << " FAILED: "
              << f.status.message() << "\n";
  }
  std::cout << "\nrouting table\n";
  if (!error.ok()) {
    std::cout << "  refused: " << error.message() << "\n";
    return;
  }
  if (routes.empty()) {
    std::cout << "  (empty)\n";
    return;
  }
  // One line per (type, format, plugin, reason), its operations joined.
  struct Line {
    std::string type, format, plugin, reason;
    std::vector<std::string> operations;
  };
  std::vector<Line> lines;
  for (const RouteEntry& r : routes) {
    std::string format(ResourceFormatName(r.format));
    if (lines.empty() || lines.back().type != r.type || lines.back().format != format ||
        lines.back().plugin != r.plugin || lines.back().reason != r.reason) {
      lines.push_back({r.type, format, r.plugin, r.reason, {}});
    }
    lines.back().operations.emplace_back(TransportOperationName(r.operation));
  }
  std::size_t type_width = 4;
  std::size_t plugin_width = 6;
  for (const Line& line : lines) {
    type_width = std::max(type_width, line.type.size());
    plugin_width = std::max(plugin_width, line.plugin.size());
  }
  std::cout << "  " << Pad("type", type_width) << "  " << Pad("format", 12) << "  "
            << Pad("plugin", plugin_width) << "  " << Pad("why", 12) << "  operations\n";
  for (const Line& line : lines) {
    std::cout << "  " << Pad(line.type, type_width) << "  " << Pad(line.format, 12) << "  "
              << Pad(line.plugin, plugin_width) << "  " << Pad(line.reason, 12) << "  "
              << Join(line.operations) << "\n";
  }
}

int RunPlugins(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  std::string plugin_dir;
  cl.flags().AddBool("json", &json);
  cl.flags().AddString("plugin-dir", "P", &plugin_dir);
  if (auto exit = cl.Parse(0, 0)) return *exit;

  NodeConfig config;
  StatusOr<NodeConfig> loaded = LoadNodeConfig(cl.dir());
  if (loaded.ok()) {
    config = std::move(loaded).value();
  } else if (loaded.status().code() != StatusCode::kNotFound) {
    return cl.Fail(loaded.status());
  }
  if (!plugin_dir.empty()) config.plugins.dir = fs::absolute(plugin_dir).string();
  const std::string dir = PluginDirFor(config, cl.dir());
  StatusOr<TransportSettings> settings = TransportSettingsFor(config, cl.dir());
  if (!settings.ok()) return cl.Fail(settings.status());

  std::vector<PluginSpec> specs =
      config.plugins.load.empty() ? DiscoverPlugins(dir) : config.plugins.load;
  // One spec at a time, so that every failure is reported, not only the
  // first; the loading itself is exactly the one start-up uses.
  std::vector<LoadedPlugin> plugins;
  std::vector<Failure> failures;
  bool required_failed = false;
  for (const PluginSpec& spec : specs) {
    PluginsConfig one;
    one.load.push_back(spec);
    one.load.back().optional = false;  // get the error, not a warning
    StatusOr<std::vector<LoadedPlugin>> result =
        LoadConfiguredPlugins(one, dir, *settings, nullptr);
    if (result.ok()) {
      for (LoadedPlugin& p : *result) plugins.push_back(std::move(p));
    } else {
      failures.push_back({spec, PluginSpecPath(spec, dir), result.status()});
      required_failed = required_failed || !spec.optional;
    }
  }
  // Two specs with one name are refused before anything loads.
  Status error;
  std::vector<std::string> names;
  for (const PluginSpec& spec : config.plugins.load) {
    if (std::find(names.begin(), names.end(), spec.name) != names.end()) {
      error = InvalidArgumentError("plugins.load: two plugins are named '" + spec.name + "'");
    }
    names.push_back(spec.name);
  }
  std::unique_ptr<SyncResourceManager> manager;
  if (error.ok()) {
    StatusOr<std::unique_ptr<SyncResourceManager>> built = SyncResourceManager::Create(
        plugins, config.plugins.routes, RoutingRequirementsFor(config));
    if (built.ok()) {
      manager = std::move(built).value();
    } else {
      error = built.status();
    }
  }
  std::vector<PluginDescription> descriptions;
  std::vector<RouteEntry> routes;
  if (manager) {
    descriptions = manager->plugins();
    routes = manager->table();
  } else {
    for (const LoadedPlugin& p : plugins) {
      descriptions.push_back({p.info, p.transport->GetCapabilities()});
    }
  }
  if (json) {
    PrintJson(dir, descriptions, failures, routes, error);
  } else {
    PrintText(dir, descriptions, failures, routes, error);
  }
  return (required_failed || !error.ok()) ? kExitFailure : kExitOk;
}

}  // namespace

extern const Command kPluginsCommand = {"plugins", "list transport plugins and the routing table",
                                        kHelp, &RunPlugins};

}  // namespace fhirsync::cli
