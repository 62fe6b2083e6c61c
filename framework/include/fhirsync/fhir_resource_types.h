// The resource types of FHIR R4 (4.0.1), for what a node declares it
// accepts.
//
// A fhirsync node stores any resource type, so its CapabilityStatement must
// name every R4 type, not only those it happens to hold: a child's FHIR
// transport claims the types the parent lists (architecture §3, "chosen by
// capability"), and a parent that listed only what it holds would refuse
// the first resource of a new type a child pushes up.
//
// Thread safety: the list is immutable.

#ifndef FHIRSYNC_FHIR_RESOURCE_TYPES_H_
#define FHIRSYNC_FHIR_RESOURCE_TYPES_H_

#include <span>
#include <string_view>

namespace fhirsync {

// Every concrete resource type of FHIR R4, in alphabetical order.
std::span<const std::string_view> FhirR4ResourceTypes();

}  // namespace fhirsync

#endif  // FHIRSYNC_FHIR_RESOURCE_TYPES_H_
