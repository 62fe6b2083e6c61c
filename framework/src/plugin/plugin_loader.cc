#include "fhirsync/plugin_loader.h"

// Boost.DLL over std::filesystem, so the framework needs Boost's headers
// only, not libboost_filesystem.
#define BOOST_DLL_USE_STD_FS
#include <dlfcn.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <cstring>
#include <exception>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "fhirsync/base/text_util.h"
#include "fhirsync/plugin/abi.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

// The descriptor fields ABI 1.0 defines; a smaller struct is not one of ours.
constexpr std::size_t kMinDescriptorSize = sizeof(PluginDescriptor);
// Cap on strings read from a module, which may be hostile or corrupt.
constexpr std::size_t kMaxDescriptorString = 200;

// A C string from a descriptor, bounded and escaped for messages.
std::string DescriptorString(const char* text) {
  if (text == nullptr) return "";
  return std::string(text, strnlen(text, kMaxDescriptorString));
}

Status Refuse(const std::string& file, const std::string& why) {
  return FailedPreconditionError("plugin " + file + ": " + why);
}

// Boost.DLL reports only "bad file descriptor" and clears dlerror(), so the
// reason (missing file, not ELF, undefined symbol...) is recovered by asking
// the dynamic loader once more, for the message only.
std::string OpenFailureReason(const std::string& file) {
  dlerror();
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    dlclose(handle);
    return "the dynamic loader refused it";
  }
  const char* reason = dlerror();
  return reason != nullptr ? EscapeForMessage(reason, 300) : "the dynamic loader refused it";
}

}  // namespace

const char* HostToolchainId() { return FHIRSYNC_PLUGIN_TOOLCHAIN_ID; }

StatusOr<LoadedPlugin> LoadPlugin(const std::string& file) {
  std::error_code exists_error;
  if (!fs::exists(file, exists_error)) {
    return NotFoundError("plugin " + file + ": cannot open: no such file");
  }
  // RTLD_NOW: an unresolved symbol refuses the module here, with a message,
  // instead of killing the process at the first call. RTLD_NODELETE: code
  // is never unmapped, so nothing made by the module can outlive its code.
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  library->load(fs::path(file),
                static_cast<boost::dll::load_mode::type>(boost::dll::load_mode::rtld_now |
                                                         boost::dll::load_mode::rtld_local |
                                                         RTLD_NODELETE),
                ec);
  if (ec || !library->is_loaded()) {
    return Refuse(file, "cannot open: " + OpenFailureReason(file));
  }
  if (!library->has(kPluginEntrySymbol)) {
    return Refuse(file, std::string("no entry symbol '") + kPluginEntrySymbol +
                            "' (not a fhirsync plugin, or FHIRSYNC_DECLARE_PLUGIN is missing)");
  }
  PluginEntryFunction& entry = library->get<PluginEntryFunction>(kPluginEntrySymbol);
  const PluginDescriptor* descriptor = nullptr;
  try {
    descriptor = entry();
  } catch (const std::exception& e) {
    return Refuse(file, std::string("entry symbol threw: ") + EscapeForMessage(e.what(), 200));
  } catch (...) {
    return Refuse(file, "entry symbol threw a non-standard exception");
  }
  if (descriptor == nullptr) return Refuse(file, "entry symbol returned no descriptor");
  if (descriptor->struct_size < kMinDescriptorSize) {
    return Refuse(file, "descriptor is " + std::to_string(descriptor->struct_size) +
                            " bytes, smaller than the " + std::to_string(kMinDescriptorSize) +
                            " bytes of plugin ABI 1.0 (corrupt, or not a fhirsync plugin)");
  }
  PluginInfo info;
  info.file = file;
  info.abi_major = descriptor->abi_major;
  info.abi_minor = descriptor->abi_minor;
  info.toolchain = DescriptorString(descriptor->toolchain);
  info.name = DescriptorString(descriptor->name);
  info.version = DescriptorString(descriptor->version);
  std::string plugin_abi = std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor);
  std::string host_abi = std::to_string(kPluginAbiMajor) + "." + std::to_string(kPluginAbiMinor);
  if (info.abi_major != kPluginAbiMajor) {
    return Refuse(file, "built for plugin ABI major " + std::to_string(info.abi_major) +
                            " (" + plugin_abi + "), this host speaks major " +
                            std::to_string(kPluginAbiMajor) + " (" + host_abi +
                            "); rebuild the plugin against this fhirsync");
  }
  if (info.abi_minor > kPluginAbiMinor) {
    return Refuse(file, "built for plugin ABI " + plugin_abi + ", newer than this host's " +
                            host_abi + "; upgrade fhirsync or rebuild the plugin against it");
  }
  if (info.toolchain != HostToolchainId()) {
    return Refuse(file, "built with toolchain '" + EscapeForMessage(info.toolchain, 120) +
                            "', this host with '" + HostToolchainId() +
                            "'; rebuild the plugin with the host's compiler and standard library");
  }
  if (info.name.empty()) return Refuse(file, "descriptor has no plugin name");
  if (descriptor->create == nullptr || descriptor->destroy == nullptr) {
    return Refuse(file, "descriptor lacks its create or destroy function");
  }

  std::string create_error;
  TransportPlugin* raw = nullptr;
  try {
    raw = descriptor->create(&create_error);
  } catch (const std::exception& e) {
    return Refuse(file, "create threw (no exception may cross the plugin boundary): " +
                            EscapeForMessage(e.what(), 200));
  } catch (...) {
    return Refuse(file, "create threw a non-standard exception (no exception may cross the "
                        "plugin boundary)");
  }
  if (raw == nullptr) {
    return Refuse(file, "create returned no object" +
                            (create_error.empty() ? std::string()
                                                  : ": " + EscapeForMessage(create_error, 200)));
  }
  // The deleter owns the last reference to the library: destroy runs first,
  // the library goes when the deleter itself is destroyed.
  auto destroy = descriptor->destroy;
  LoadedPlugin loaded;
  loaded.info = std::move(info);
  loaded.transport = std::shared_ptr<TransportPlugin>(
      raw, [library, destroy](TransportPlugin* plugin) { destroy(plugin); });
  return loaded;
}

std::string DefaultPluginDir() {
#ifdef FHIRSYNC_INSTALL_LIBDIR
  const fs::path libdir = FHIRSYNC_INSTALL_LIBDIR;  // "lib", "lib/x86_64-linux-gnu"
#else
  const fs::path libdir = "lib";
#endif
  const fs::path plugins = libdir / "fhirsync" / "plugins";
  std::error_code ec;
  fs::path program = boost::dll::program_location(ec);
  if (ec) return plugins.string();
  return (program.parent_path() / ".." / plugins).lexically_normal().string();
}

std::string PluginSpecPath(const PluginSpec& spec, const std::string& dir) {
  fs::path file = spec.file.empty() ? fs::path("fhirsync-" + spec.name + ".so") : fs::path(spec.file);
  if (file.is_absolute()) return file.string();
  return (fs::path(dir) / file).string();
}

StatusOr<std::vector<LoadedPlugin>> LoadConfiguredPlugins(const PluginsConfig& config,
                                                          const std::string& dir,
                                                          const TransportSettings& settings,
                                                          std::vector<std::string>* warnings) {
  std::set<std::string> names;
  for (const PluginSpec& spec : config.load) {
    if (!names.insert(spec.name).second) {
      return InvalidArgumentError("plugins.load: two plugins are named '" +
                                  EscapeForMessage(spec.name) + "'");
    }
  }
  std::vector<LoadedPlugin> plugins;
  for (const PluginSpec& spec : config.load) {
    std::string file = PluginSpecPath(spec, dir);
    Status failure;
    StatusOr<LoadedPlugin> loaded = LoadPlugin(file);
    if (!loaded.ok()) {
      failure = loaded.status();
    } else if (loaded->info.name != spec.name) {
      failure = Refuse(file, "declares the name '" + EscapeForMessage(loaded->info.name) +
                                 "', but the config loads it as '" +
                                 EscapeForMessage(spec.name) + "'");
    } else {
      // The node-wide options (the parent limits) under the plugin's own.
      TransportSettings plugin_settings = settings;
      for (const auto& [key, value] : spec.options) plugin_settings.options[key] = value;
      Status configured = loaded->transport->Configure(plugin_settings);
      if (!configured.ok()) {
        failure = Status(configured.code(), "plugin '" + spec.name + "' (" + file +
                                                "): configure failed: " + configured.message());
      }
    }
    if (failure.ok()) {
      plugins.push_back(std::move(loaded).value());
    } else if (spec.optional) {
      if (warnings != nullptr) {
        warnings->push_back("optional plugin '" + spec.name + "' skipped: " + failure.message());
      }
    } else {
      return failure;
    }
  }
  return plugins;
}

}  // namespace fhirsync
