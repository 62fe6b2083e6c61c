// create breaks the rule that no exception crosses the boundary.
#include <stdexcept>

#include "testing_descriptor.h"

namespace {
fhirsync::TransportPlugin* CreateThrowing(std::string*) {
  throw std::runtime_error("database driver not found");
}
}  // namespace

FHIRSYNC_TESTING_DESCRIPTOR(sizeof(::fhirsync::PluginDescriptor), ::fhirsync::kPluginAbiMajor,
                            ::fhirsync::kPluginAbiMinor, FHIRSYNC_PLUGIN_TOOLCHAIN_ID,
                            &CreateThrowing);
