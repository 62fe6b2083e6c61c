// Claims another toolchain (as a module built with MSVC's STL would).
#include "testing_descriptor.h"

FHIRSYNC_TESTING_DESCRIPTOR(sizeof(::fhirsync::PluginDescriptor), ::fhirsync::kPluginAbiMajor,
                            ::fhirsync::kPluginAbiMinor, "msvc-1930/msvc-stl/c++201703L",
                            &::fhirsync::testing::CreateNull);
