// StatusCodeForHttpStatus: see fhirsync/http_status.h.

#include "fhirsync/http_status.h"

namespace fhirsync {

StatusCode StatusCodeForHttpStatus(int http_status) {
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
