// Built for a newer minor of this ABI major.
#include "testing_descriptor.h"

FHIRSYNC_TESTING_DESCRIPTOR(sizeof(::fhirsync::PluginDescriptor), ::fhirsync::kPluginAbiMajor,
                            ::fhirsync::kPluginAbiMinor + 1, FHIRSYNC_PLUGIN_TOOLCHAIN_ID,
                            &::fhirsync::testing::CreateNull);
