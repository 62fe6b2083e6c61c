// The plugin loader: opens transport plugin modules (.so), checks their
// descriptor against this host's ABI and toolchain, and makes their transport
// objects.
//
// Every refusal is its own FailedPrecondition (NotFound for a missing file)
// whose message starts with "plugin FILE:" and says what is wrong: the file
// will not open, has no entry symbol, has a descriptor too small, another ABI
// major, a newer ABI minor, another toolchain, or `create` returned null or
// threw.
//
// Lifetime: a transport object is held by a shared_ptr whose deleter calls
// the module's `destroy` and only then lets go of the module, so the code
// of an object always outlives it. Modules are opened with RTLD_NODELETE:
// production never unloads a plugin, even after the last reference is gone.
//
// Thread safety: the functions are thread-safe; see TransportPlugin for the
// objects they return.

#ifndef FHIRSYNC_PLUGIN_LOADER_H_
#define FHIRSYNC_PLUGIN_LOADER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/status.h"

namespace fhirsync {

// What a module's descriptor says about it.
struct PluginInfo {
  std::string name;
  std::string version;
  std::string file;  // the path it was loaded from
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::string toolchain;
};

// A plugin made ready: its descriptor and its transport object (which keeps
// the module loaded).
struct LoadedPlugin {
  PluginInfo info;
  std::shared_ptr<TransportPlugin> transport;
};

// This host's toolchain id (FHIRSYNC_PLUGIN_TOOLCHAIN_ID as the framework was
// compiled).
const char* HostToolchainId();

// Opens `file`, checks its descriptor and creates its transport object (not
// yet configured). Errors as described above, each naming `file`.
StatusOr<LoadedPlugin> LoadPlugin(const std::string& file);

// The folder plugins are installed in beside the running program:
// <program dir>/../<libdir>/fhirsync/plugins, libdir as fhirsync was
// configured (GNUInstallDirs: "lib", or "lib/<multiarch>" under /usr).
std::string DefaultPluginDir();

// The module file a spec names: `spec.file` (relative to `dir` unless
// absolute), or "fhirsync-<name>.so" in `dir` when `spec.file` is empty.
std::string PluginSpecPath(const PluginSpec& spec, const std::string& dir);

// Loads and configures every plugin in `config.load`, in order. `dir`
// resolves relative files (callers turn an empty config.dir into
// DefaultPluginDir() and a relative one into a path under the node folder).
// Fails on the first required plugin that cannot be loaded or configured, on
// two specs with one name, and on a module whose descriptor name differs
// from its spec's name. A plugin whose spec is `optional` is skipped instead,
// with one line in `warnings` (may be null) naming it, its file and why.
StatusOr<std::vector<LoadedPlugin>> LoadConfiguredPlugins(const PluginsConfig& config,
                                                          const std::string& dir,
                                                          const TransportSettings& settings,
                                                          std::vector<std::string>* warnings);

}  // namespace fhirsync

#endif  // FHIRSYNC_PLUGIN_LOADER_H_
