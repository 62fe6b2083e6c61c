// create gives no object and says why.
#include "testing_descriptor.h"

namespace {
fhirsync::TransportPlugin* CreateNothing(std::string* error) {
  if (error != nullptr) *error = "licence file missing";
  return nullptr;
}
}  // namespace

FHIRSYNC_TESTING_DESCRIPTOR(sizeof(::fhirsync::PluginDescriptor), ::fhirsync::kPluginAbiMajor,
                            ::fhirsync::kPluginAbiMinor, FHIRSYNC_PLUGIN_TOOLCHAIN_ID,
                            &CreateNothing);
