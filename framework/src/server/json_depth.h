// The checks a JSON request body passes before anything parses it
// (internal), in one pass over its bytes:
// - nesting: RapidJSON parses, writes and walks documents recursively, so a
//   body like "[[[[...]]]]" a million levels deep would overflow a worker's
//   stack. FHIR resources nest a few dozen levels at most.
// - encoding: JSON is UTF-8 (RFC 8259), and what a parent stores it serves
//   to every child byte for byte, so a body with bytes that are not UTF-8
//   (0xFF, an overlong 0xC0 0xAF, an encoded surrogate, a sequence cut
//   short) or a \u escape of a lone UTF-16 surrogate (which decodes to no
//   character) is refused before it can be stored. Each byte sequence is
//   judged by RapidJSON's own validator (the one kParseValidateEncodingFlag
//   uses); the escapes, which it lets through unpaired, are judged here.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_SERVER_JSON_DEPTH_H_
#define FHIRSYNC_SERVER_JSON_DEPTH_H_

#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync::server {

inline constexpr int kMaxJsonDepth = 100;

// Both checks: InvalidArgument naming the problem and its byte offset in
// `json` ("body is not valid UTF-8 at byte 17 (FF FE)", "... deeper than 100
// levels (at byte 3)"). Says nothing else about validity: the parser does
// that.
Status CheckJsonText(std::string_view json, int max_depth = kMaxJsonDepth);

// The nesting check alone: InvalidArgument naming the limit when arrays or
// objects nest deeper than `max_depth` (brackets inside strings do not
// count).
Status CheckJsonDepth(std::string_view json, int max_depth = kMaxJsonDepth);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_JSON_DEPTH_H_
