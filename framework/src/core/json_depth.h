// A guard against deeply nested JSON (internal), shared by every reader of
// JSON that came from outside: the server's request bodies, a child's
// answers from its parent (fhir-client, rest-client, feed payloads), stored
// bodies and the config file. RapidJSON parses (unless asked to iterate),
// writes, copies and walks documents recursively, so a body like "[[[[...]]]]"
// nested 100,000 levels deep overflows the stack: the depth is checked on
// the text before any recursive parse or walk. FHIR resources nest a few
// dozen levels at most.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_CORE_JSON_DEPTH_H_
#define FHIRSYNC_CORE_JSON_DEPTH_H_

#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync {

// The deepest a body may nest: a request body, a stored resource, a config.
inline constexpr int kMaxJsonDepth = 100;

// The deepest an answer from a remote may nest: a Bundle wraps each resource
// three levels down (Bundle, entry array, entry), so a resource the remote
// was allowed to store (kMaxJsonDepth) still fits, with room to spare.
inline constexpr int kMaxJsonAnswerDepth = kMaxJsonDepth + 8;

// InvalidArgument "<what> nests arrays/objects deeper than <max_depth> levels
// (at byte N)" when arrays/objects nest deeper than `max_depth` (brackets
// inside strings do not count). Says nothing else about validity: the
// parser does that. Reads the text once, without recursion.
Status CheckJsonDepth(std::string_view json, int max_depth = kMaxJsonDepth,
                      std::string_view what = "body");

}  // namespace fhirsync

#endif  // FHIRSYNC_CORE_JSON_DEPTH_H_
