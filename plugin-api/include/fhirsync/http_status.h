// The one mapping from an HTTP answer status to a fhirsync StatusCode
// (architecture §5), shared by every HTTP transport (FHIR, OpenMRS REST, the Atom
// feed fetcher) so that retry, conflict and dead-letter decisions do not
// depend on which transport carried the request.
//
//   2xx                 kOk
//   400 and other 4xx   kInvalidArgument (dead letter)
//   401                 kUnauthenticated (pause pushing)
//   403                 kPermissionDenied
//   404, 410            kNotFound (410 = gone; transports flag it separately)
//   405, 501, 3xx       kUnimplemented (not offered; redirects are not followed)
//   408, 429, 5xx       kUnavailable (retry with backoff)
//   409, 412            kAborted (version conflict)
//   422                 kFailedPrecondition (business rule)
//   504                 kDeadlineExceeded
//   anything else (1xx, < 100, > 599)  kUnknown
//
// Header-only (fhirsync::plugin_api), so an HTTP transport plugin maps its
// answers the same way without linking a fhirsync library.
//
// Thread safety: a pure function.

#ifndef FHIRSYNC_HTTP_STATUS_H_
#define FHIRSYNC_HTTP_STATUS_H_

#include "fhirsync/status.h"

namespace fhirsync {

inline StatusCode StatusCodeForHttpStatus(int http_status) {
  if (http_status < 200 || http_status > 599) return StatusCode::kUnknown;
  if (http_status < 300) return StatusCode::kOk;
  switch (http_status) {
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404:
    case 410: return StatusCode::kNotFound;
    case 405:
    case 501: return StatusCode::kUnimplemented;
    case 408:
    case 429: return StatusCode::kUnavailable;
    case 409:
    case 412: return StatusCode::kAborted;
    case 422: return StatusCode::kFailedPrecondition;
    case 504: return StatusCode::kDeadlineExceeded;
    default: break;
  }
  if (http_status >= 500) return StatusCode::kUnavailable;
  if (http_status < 400) return StatusCode::kUnimplemented;
  return StatusCode::kInvalidArgument;
}

}  // namespace fhirsync

#endif  // FHIRSYNC_HTTP_STATUS_H_
