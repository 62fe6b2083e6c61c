// A guard against deeply nested JSON (internal). RapidJSON parses, writes and
// walks documents recursively, so a body like "[[[[...]]]]" a million levels
// deep would overflow a worker's stack. Request bodies are checked before any
// parse; FHIR resources nest a few dozen levels at most.

#ifndef FHIRSYNC_SERVER_JSON_DEPTH_H_
#define FHIRSYNC_SERVER_JSON_DEPTH_H_

#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync::server {

inline constexpr int kMaxJsonDepth = 100;

// InvalidArgument naming the limit when arrays/objects nest deeper than
// `max_depth` (brackets inside strings do not count). Says nothing else
// about validity: the parser does that.
Status CheckJsonDepth(std::string_view json, int max_depth = kMaxJsonDepth);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_JSON_DEPTH_H_
