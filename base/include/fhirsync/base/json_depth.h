// Guards for JSON that came from outside (internal), shared by every reader
// of it: the server's request bodies, a child's answers from its parent
// (fhir-client, rest-client, feed payloads), stored bodies and the config
// file. Each reads the text once, without recursion, before anything parses:
// - nesting: RapidJSON parses (unless asked to iterate), writes, copies and
//   walks documents recursively, so a body like "[[[[...]]]]" nested 100,000
//   levels deep overflows the stack. FHIR resources nest a few dozen levels
//   at most.
// - encoding (CheckJsonText): JSON is UTF-8 (RFC 8259), and what a parent
//   stores it serves to every child byte for byte, so a body with bytes that
//   are not UTF-8 (0xFF, an overlong 0xC0 0xAF, an encoded surrogate, a
//   sequence cut short) or a \u escape of a lone UTF-16 surrogate (which
//   decodes to no character) is refused before it can be stored. Each byte
//   sequence is judged by RapidJSON's own validator (the one
//   kParseValidateEncodingFlag uses); the escapes, which it lets through
//   unpaired, are judged here.
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

// Both checks: InvalidArgument naming the problem and its byte offset in
// `json` ("body is not valid UTF-8 at byte 17 (FF FE)", "body has a lone
// UTF-16 surrogate \ud800 at byte 9 ...", or the nesting message above).
Status CheckJsonText(std::string_view json, int max_depth = kMaxJsonDepth,
                     std::string_view what = "body");

}  // namespace fhirsync

#endif  // FHIRSYNC_CORE_JSON_DEPTH_H_
