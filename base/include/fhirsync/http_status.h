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
// Thread safety: a pure function.

#ifndef FHIRSYNC_HTTP_STATUS_H_
#define FHIRSYNC_HTTP_STATUS_H_

#include "fhirsync/status.h"

namespace fhirsync {

StatusCode StatusCodeForHttpStatus(int http_status);

}  // namespace fhirsync

#endif  // FHIRSYNC_HTTP_STATUS_H_
