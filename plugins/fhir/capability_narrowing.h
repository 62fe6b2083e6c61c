// Narrowing the FHIR plugin's claimed resource types from the remote's
// CapabilityStatement ("chosen by capability", architecture §3).
//
// Thread safety: a pure function.

#ifndef FHIRSYNC_PLUGINS_FHIR_CAPABILITY_NARROWING_H_
#define FHIRSYNC_PLUGINS_FHIR_CAPABILITY_NARROWING_H_

#include <string>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"

namespace fhirsync::fhirplugin {

// The types to claim: of `configured` (type names, or "*" for any), those
// the server lists with the `read` interaction; "*" stands for every such
// type. Listed names that are not FHIR type names are ignored. A CapabilityStatement that lists no resource type at all says
// nothing about types, so `configured` is kept as it is. The result is
// sorted and has no duplicates; it may be empty (the server supports none of
// the configured types).
std::vector<std::string> NarrowTypes(const std::vector<std::string>& configured,
                                     const fhir::FhirCapabilities& capabilities);

}  // namespace fhirsync::fhirplugin

#endif  // FHIRSYNC_PLUGINS_FHIR_CAPABILITY_NARROWING_H_
