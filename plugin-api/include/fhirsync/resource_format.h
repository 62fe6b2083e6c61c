// ResourceFormat and ChangeAction: the two enums a resource and a change
// carry, shared by the store (fhirsync/resource.h, in fhirsync::base) and the
// plugin ABI (fhirsync/plugin/transport_plugin.h).
//
// Header-only, part of fhirsync::plugin_api.

#ifndef FHIRSYNC_RESOURCE_FORMAT_H_
#define FHIRSYNC_RESOURCE_FORMAT_H_

namespace fhirsync {

// How a body is represented on the wire and in the store.
enum class ResourceFormat {
  kFhirJson,     // FHIR R4 JSON; `type` is the resourceType
  kOpenmrsRest,  // OpenMRS REST v1 JSON; `type` is the REST resource name
};

// What a change did to a resource; shared by the store's change feed and the
// transports' change pages.
enum class ChangeAction { kCreate, kUpdate, kDelete };

}  // namespace fhirsync

#endif  // FHIRSYNC_RESOURCE_FORMAT_H_
