// FHIRSYNC_DECLARE_PLUGIN: the one line that turns a TransportPlugin
// implementation into a loadable fhirsync plugin.
//
//   class FolderTransport : public fhirsync::TransportPlugin { ... };
//   FHIRSYNC_DECLARE_PLUGIN(FolderTransport, "folder", "1.0.0")
//
// Put it in exactly one .cc file of the module, at namespace scope (outside
// any namespace). It exports the entry symbol of abi.h, whose descriptor
// carries this header's ABI version and toolchain id, and makes `create`
// wrap the class in GuardedTransport so that no exception ever crosses the
// boundary: an exception escaping any method becomes a kInternal Status
// ("Read threw: ..."), one escaping the constructor makes `create` return
// null with the reason. The class must be default-constructible; take your
// settings in Configure().
//
// Thread safety: the descriptor is immutable; GuardedTransport adds no state.

#ifndef FHIRSYNC_PLUGIN_DECLARE_PLUGIN_H_
#define FHIRSYNC_PLUGIN_DECLARE_PLUGIN_H_

#include <exception>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fhirsync/plugin/abi.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::internal {

// Forwards every call to an Impl, turning any exception into a Status.
template <typename Impl>
class GuardedTransport final : public TransportPlugin {
 public:
  Status Configure(const TransportSettings& settings) override {
    try {
      return impl_.Configure(settings);
    } catch (...) {
      return Status(StatusCode::kInternal, Describe("Configure"));
    }
  }
  // A throw yields empty capabilities, which the host refuses as "declares
  // no resource types".
  TransportCapabilities GetCapabilities() const override {
    try {
      return impl_.GetCapabilities();
    } catch (...) {
      return TransportCapabilities{};
    }
  }
  ReadResult Read(const std::string& type, const std::string& id) override {
    return Guard<ReadResult>("Read", [&] { return impl_.Read(type, id); });
  }
  ReadManyResult ReadMany(const std::string& type, const std::vector<std::string>& ids) override {
    return Guard<ReadManyResult>("ReadMany", [&] { return impl_.ReadMany(type, ids); });
  }
  RemoteWriteResult Create(const RemoteResource& resource) override {
    return Guard<RemoteWriteResult>("Create", [&] { return impl_.Create(resource); });
  }
  RemoteWriteResult Update(const RemoteResource& resource, const std::string& expected_version) override {
    return Guard<RemoteWriteResult>("Update", [&] { return impl_.Update(resource, expected_version); });
  }
  RemoteWriteResult Delete(const std::string& type, const std::string& id,
                     const std::string& expected_version) override {
    return Guard<RemoteWriteResult>("Delete",
                              [&] { return impl_.Delete(type, id, expected_version); });
  }
  ChangePage ReadChanges(const std::string& since, int max_entries) override {
    return Guard<ChangePage>("ReadChanges", [&] { return impl_.ReadChanges(since, max_entries); });
  }
  // ABI minor 1. A throw fails every write of the call alike.
  std::vector<RemoteWriteResult> WriteMany(const std::vector<WriteRequest>& requests) override {
    try {
      return impl_.WriteMany(requests);
    } catch (...) {
      RemoteWriteResult failed;
      failed.status = Status(StatusCode::kInternal, Describe("WriteMany"));
      return std::vector<RemoteWriteResult>(requests.size(), failed);
    }
  }
  // ABI minor 2.
  ExportResult StartExport(const std::vector<std::string>& types, const std::string& job) override {
    return Guard<ExportResult>("StartExport", [&] { return impl_.StartExport(types, job); });
  }
  CallOutcome ReadExportFile(const std::string& url, std::int64_t from_byte,
                             const std::function<bool(std::string_view chunk)>& sink) override {
    return Guard<CallOutcome>("ReadExportFile",
                              [&] { return impl_.ReadExportFile(url, from_byte, sink); });
  }

 private:
  // Must be called from inside a catch block.
  static std::string Describe(const char* method) {
    try {
      throw;
    } catch (const std::exception& e) {
      return std::string(method) + " threw: " + e.what();
    } catch (...) {
      return std::string(method) + " threw a non-standard exception";
    }
  }

  template <typename Result, typename Call>
  static Result Guard(const char* method, Call&& call) {
    try {
      return call();
    } catch (...) {
      Result result;
      result.status = Status(StatusCode::kInternal, Describe(method));
      return result;
    }
  }

  Impl impl_;
};

template <typename Impl>
TransportPlugin* CreateGuarded(std::string* error) {
  static_assert(std::is_base_of_v<TransportPlugin, Impl>,
                "FHIRSYNC_DECLARE_PLUGIN needs a class derived from fhirsync::TransportPlugin");
  static_assert(std::is_default_constructible_v<Impl>,
                "FHIRSYNC_DECLARE_PLUGIN needs a default-constructible class");
  try {
    return new GuardedTransport<Impl>();
  } catch (const std::exception& e) {
    if (error != nullptr) *error = std::string("constructor threw: ") + e.what();
  } catch (...) {
    if (error != nullptr) *error = "constructor threw a non-standard exception";
  }
  return nullptr;
}

inline void DestroyGuarded(TransportPlugin* plugin) { delete plugin; }

}  // namespace fhirsync::internal

#define FHIRSYNC_DECLARE_PLUGIN(Impl, plugin_name, plugin_version)                      \
  extern "C" __attribute__((visibility("default"))) const ::fhirsync::PluginDescriptor* \
  fhirsync_plugin_descriptor() {                                                        \
    static constexpr ::fhirsync::PluginDescriptor kDescriptor = {                       \
        sizeof(::fhirsync::PluginDescriptor),                                           \
        ::fhirsync::kPluginAbiMajor,                                                    \
        ::fhirsync::kPluginAbiMinor,                                                    \
        FHIRSYNC_PLUGIN_TOOLCHAIN_ID,                                                   \
        plugin_name,                                                                    \
        plugin_version,                                                                 \
        &::fhirsync::internal::CreateGuarded<Impl>,                                     \
        &::fhirsync::internal::DestroyGuarded};                                         \
    return &kDescriptor;                                                                \
  }                                                                                     \
  static_assert(true, "")  // requires the trailing semicolon

#endif  // FHIRSYNC_PLUGIN_DECLARE_PLUGIN_H_
