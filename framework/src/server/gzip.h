// gzip for response bodies and request bodies (internal), over Poco's
// Deflating/Inflating streams.

#ifndef FHIRSYNC_SERVER_GZIP_H_
#define FHIRSYNC_SERVER_GZIP_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync::server {

// The gzip (RFC 1952) form of `data`.
std::string GzipCompress(std::string_view data);

// Inflates a whole gzip body. InvalidArgument when the data is not gzip or
// ends before the gzip trailer (a body cut off mid-stream), so a truncated
// upload is refused rather than half-applied; ResourceExhausted when the
// inflated size would exceed `max_bytes` (a zip bomb is stopped there).
StatusOr<std::string> GzipDecompress(std::string_view data, std::size_t max_bytes);

// True when an Accept-Encoding value allows gzip ("gzip", "x-gzip", "*",
// without q=0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_GZIP_H_
