// A descriptor claiming fewer bytes than ABI 1.0 defines.
#include "testing_descriptor.h"

FHIRSYNC_TESTING_DESCRIPTOR(12, ::fhirsync::kPluginAbiMajor, ::fhirsync::kPluginAbiMinor,
                            FHIRSYNC_PLUGIN_TOOLCHAIN_ID, &::fhirsync::testing::CreateNull);
