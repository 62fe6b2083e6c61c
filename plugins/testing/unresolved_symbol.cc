// A module the dynamic loader refuses: it needs a symbol nothing defines.
#include "testing_descriptor.h"

extern "C" int fhirsync_testing_symbol_nobody_defines(int);

extern "C" __attribute__((visibility("default"))) int fhirsync_testing_use_it(int x) {
  return fhirsync_testing_symbol_nobody_defines(x);
}

FHIRSYNC_TESTING_DESCRIPTOR(sizeof(::fhirsync::PluginDescriptor), ::fhirsync::kPluginAbiMajor,
                            ::fhirsync::kPluginAbiMinor, FHIRSYNC_PLUGIN_TOOLCHAIN_ID,
                            &::fhirsync::testing::CreateNull);
