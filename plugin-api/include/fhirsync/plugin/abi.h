// The plugin ABI: the one symbol a transport plugin exports, and the
// descriptor it returns, which lets the host decide whether the module was
// built for it before calling anything else in it.
//
// Boost.DLL promises no ABI stability, and TransportPlugin passes std::string
// and std::vector across the boundary, so a module is usable only when built
// with the host's compiler family, C++ standard library (including its string
// ABI) and language standard, and against a compatible version of this
// header. The descriptor says which, in plain C types that every toolchain
// lays out alike, so that reading it is safe even when the answer is "no".
//
// Versioning: the major changes when TransportPlugin or the descriptor
// change incompatibly (the host refuses another major); the minor when
// fields are appended to the descriptor or methods to the end of
// TransportPlugin (the host accepts older minors, refuses newer ones).
//
// Thread safety: a descriptor is immutable static data.

#ifndef FHIRSYNC_PLUGIN_ABI_H_
#define FHIRSYNC_PLUGIN_ABI_H_

#include <cstddef>  // also defines the standard library's version macros
#include <cstdint>
#include <string>

namespace fhirsync {

class TransportPlugin;

inline constexpr std::uint32_t kPluginAbiMajor = 1;
// Minor 1: TransportPlugin::WriteMany.
// Minor 2: the `export` operation: TransportPlugin::StartExport and
// ReadExportFile (the host never calls them on, nor routes `export` to, a
// plugin built for an older minor).
inline constexpr std::uint32_t kPluginAbiMinor = 2;

#define FHIRSYNC_PLUGIN_STRINGIFY_INNER_(x) #x
#define FHIRSYNC_PLUGIN_STRINGIFY_(x) FHIRSYNC_PLUGIN_STRINGIFY_INNER_(x)

#if defined(__clang__)
#define FHIRSYNC_PLUGIN_COMPILER_ID_ "clang-" FHIRSYNC_PLUGIN_STRINGIFY_(__clang_major__)
#elif defined(__GNUC__)
#define FHIRSYNC_PLUGIN_COMPILER_ID_ "gcc-" FHIRSYNC_PLUGIN_STRINGIFY_(__GNUC__)
#elif defined(_MSC_VER)
#define FHIRSYNC_PLUGIN_COMPILER_ID_ "msvc-" FHIRSYNC_PLUGIN_STRINGIFY_(_MSC_VER)
#else
#define FHIRSYNC_PLUGIN_COMPILER_ID_ "unknown-compiler"
#endif

#if defined(_LIBCPP_VERSION)
#define FHIRSYNC_PLUGIN_STDLIB_ID_ "libc++-" FHIRSYNC_PLUGIN_STRINGIFY_(_LIBCPP_VERSION)
#elif defined(_GLIBCXX_RELEASE)
// The dual string ABI changes the layout of std::string, so it is part of
// the id.
#define FHIRSYNC_PLUGIN_STDLIB_ID_                                \
  "libstdc++-" FHIRSYNC_PLUGIN_STRINGIFY_(_GLIBCXX_RELEASE) "-cxx11abi" \
      FHIRSYNC_PLUGIN_STRINGIFY_(_GLIBCXX_USE_CXX11_ABI)
#else
#define FHIRSYNC_PLUGIN_STDLIB_ID_ "unknown-stdlib"
#endif

// "gcc-12/libstdc++-12-cxx11abi1/c++202002L": what this translation unit was
// compiled with. The host compares its own with the plugin's, byte for byte.
#define FHIRSYNC_PLUGIN_TOOLCHAIN_ID                       \
  FHIRSYNC_PLUGIN_COMPILER_ID_ "/" FHIRSYNC_PLUGIN_STDLIB_ID_ \
                               "/c++" FHIRSYNC_PLUGIN_STRINGIFY_(__cplusplus)

// The descriptor a plugin's entry symbol returns (ABI 1.0 layout). New
// fields are only ever appended; `struct_size` tells the host how many the
// plugin knows.
struct PluginDescriptor {
  std::uint32_t struct_size;  // sizeof(PluginDescriptor) as the plugin saw it
  std::uint32_t abi_major;    // kPluginAbiMajor the plugin was built with
  std::uint32_t abi_minor;    // kPluginAbiMinor the plugin was built with
  const char* toolchain;      // FHIRSYNC_PLUGIN_TOOLCHAIN_ID
  const char* name;           // the plugin's name, unique in a node ("fhir")
  const char* version;        // the plugin's own version ("1.2.0")
  // Makes the transport object. On failure returns null and, when `error` is
  // non-null, says why in it. Must not throw.
  TransportPlugin* (*create)(std::string* error);
  // Destroys an object made by `create` (so it is freed by the module's own
  // allocator and destructor).
  void (*destroy)(TransportPlugin* plugin);
};

// The name of the exported entry function, whose type is PluginEntryFunction.
inline constexpr char kPluginEntrySymbol[] = "fhirsync_plugin_descriptor";
using PluginEntryFunction = const PluginDescriptor*();

}  // namespace fhirsync

#endif  // FHIRSYNC_PLUGIN_ABI_H_
