// Built for the next ABI major.
#include "testing_descriptor.h"

FHIRSYNC_TESTING_DESCRIPTOR(sizeof(::fhirsync::PluginDescriptor), ::fhirsync::kPluginAbiMajor + 1,
                            0, FHIRSYNC_PLUGIN_TOOLCHAIN_ID, &::fhirsync::testing::CreateNull);
