// Reading a resource body from a file or stdin without ever holding more
// than the store would accept.
//
// Thread safety: none needed (reads a file or stdin).

#ifndef FHIRSYNC_APPS_FHIRSYNC_BODY_INPUT_H_
#define FHIRSYNC_APPS_FHIRSYNC_BODY_INPUT_H_

#include <cstddef>
#include <string>

#include "fhirsync/status.h"

namespace fhirsync::cli {

// Reads all of `path` ("-" for stdin). NotFound naming the file when it
// cannot be opened; ResourceExhausted when it holds more than `max_bytes`
// (reading stops just past the cap, so a huge input costs no memory).
StatusOr<std::string> ReadBody(const std::string& path, std::size_t max_bytes);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_BODY_INPUT_H_
