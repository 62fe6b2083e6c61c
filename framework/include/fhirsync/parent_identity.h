// Learning a parent's node id: the key of this node's pull cursor (architecture
// §4: cursors are keyed by the parent's node id, not its URL, so a parent
// that moves keeps the child's place).
//
// A fhirsync parent names itself in the `X-Fhirsync-Node-Id` header of every
// answer; this asks for its CapabilityStatement (GET {url}/fhir/metadata)
// and reads that header.
//
// Thread safety: a pure function (one HTTP request).

#ifndef FHIRSYNC_PARENT_IDENTITY_H_
#define FHIRSYNC_PARENT_IDENTITY_H_

#include <string>

#include "fhirsync/status.h"

namespace fhirsync {

struct ParentEndpoint {
  std::string url;  // the parent node's root, "http://host:port"
  std::string user;      // HTTP Basic; empty: anonymous
  std::string password;
  int timeout_ms = 10000;
};

// The parent's node id. Unavailable / DeadlineExceeded when it cannot be
// reached; Unauthenticated / PermissionDenied for 401 / 403;
// FailedPrecondition when it answers without naming itself (not a fhirsync
// node) or names itself with an invalid id; InvalidArgument for a URL that
// is not http://host[:port][/path].
StatusOr<std::string> FetchParentNodeId(const ParentEndpoint& parent);

}  // namespace fhirsync

#endif  // FHIRSYNC_PARENT_IDENTITY_H_
