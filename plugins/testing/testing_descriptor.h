// Hand-made descriptors for the broken test modules: each differs from a
// good one in exactly the field its test is about. (Real plugins use
// FHIRSYNC_DECLARE_PLUGIN, never this.)

#ifndef FHIRSYNC_PLUGINS_TESTING_TESTING_DESCRIPTOR_H_
#define FHIRSYNC_PLUGINS_TESTING_TESTING_DESCRIPTOR_H_

#include "fhirsync/plugin/abi.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::testing {

// A transport that would work, so that only the descriptor is at fault.
class NullTransport : public TransportPlugin {
 public:
  Status Configure(const TransportSettings&) override { return Status(); }
  TransportCapabilities GetCapabilities() const override {
    TransportCapabilities caps;
    caps.resource_types = {kAnyResourceType};
    caps.operations = {TransportOperation::kRead};
    caps.formats = {ResourceFormat::kFhirJson};
    return caps;
  }
};

inline TransportPlugin* CreateNull(std::string*) { return new NullTransport(); }
inline void DestroyAny(TransportPlugin* plugin) { delete plugin; }

}  // namespace fhirsync::testing

#define FHIRSYNC_TESTING_DESCRIPTOR(size, major, minor, toolchain_id, create_fn)           \
  extern "C" __attribute__((visibility("default"))) const ::fhirsync::PluginDescriptor*   \
  fhirsync_plugin_descriptor() {                                                          \
    static const ::fhirsync::PluginDescriptor kDescriptor = {                             \
        size, major, minor, toolchain_id, "testing", "0.0.1", create_fn,                  \
        &::fhirsync::testing::DestroyAny};                                                \
    return &kDescriptor;                                                                  \
  }                                                                                       \
  static_assert(true, "")

#endif  // FHIRSYNC_PLUGINS_TESTING_TESTING_DESCRIPTOR_H_
