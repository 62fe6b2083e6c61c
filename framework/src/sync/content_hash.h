// The content hash a store gives a body (see fhirsync/resource.h), for
// bodies that did not come from this node's store: the parent's copy and
// ours are compared by it, never by their version numbers (internal header).
//
// Thread safety: a pure function.

#ifndef FHIRSYNC_SYNC_CONTENT_HASH_H_
#define FHIRSYNC_SYNC_CONTENT_HASH_H_

#include <string>

#include "fhirsync/resource.h"

namespace fhirsync::sync {

// FHIR JSON: hashed without id-independent meta stamps, exactly as the
// store hashes it; anything else (or a body that does not parse) verbatim.
std::string ContentHashOf(ResourceFormat format, const std::string& body);

}  // namespace fhirsync::sync

#endif  // FHIRSYNC_SYNC_CONTENT_HASH_H_
