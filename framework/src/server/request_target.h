// Splitting a request target ("/fhir/Patient/1?_count=5") into decoded path
// segments and query parameters (internal). Used for HTTP requests and for
// the relative URLs inside Bundle entries.

#ifndef FHIRSYNC_SERVER_REQUEST_TARGET_H_
#define FHIRSYNC_SERVER_REQUEST_TARGET_H_

#include <string_view>

#include "fhirsync/status.h"
#include "server/http_types.h"

namespace fhirsync::server {

// Fills request->segments and request->query. Each segment is split before
// it is %-decoded, so "%2F" cannot forge a segment boundary; empty segments
// (from "//" or a trailing "/") are dropped. InvalidArgument naming the
// target when the %-encoding is malformed or it is over 8 KiB.
Status ParseRequestTarget(std::string_view target, HttpRequest* request);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_REQUEST_TARGET_H_
