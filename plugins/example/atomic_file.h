// Crash-safe file writes and bounded reads for the folder transport.
//
// A change file must never be seen half-written, even if the power goes or
// the stick is pulled mid-write: it is written under a temporary name,
// fsync'ed, renamed into place, and the folder fsync'ed so the rename itself
// is durable. Readers ignore temporary names (they start with ".tmp-").
//
// Thread safety: the functions are thread-safe; concurrent writers must use
// distinct final names.

#ifndef FHIRSYNC_PLUGINS_EXAMPLE_ATOMIC_FILE_H_
#define FHIRSYNC_PLUGINS_EXAMPLE_ATOMIC_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync::folder {

inline constexpr char kTempPrefix[] = ".tmp-";

// Writes `data` to `dir`/`name` atomically. Unavailable naming the file and
// the system error when any step fails; the temporary file is then removed
// and `name` is untouched.
Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           std::string_view data);

// Reads `path` whole. NotFound when it is missing, ResourceExhausted when
// it is larger than `max_bytes`, Unavailable on any other error; each names
// the file.
StatusOr<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes);

}  // namespace fhirsync::folder

#endif  // FHIRSYNC_PLUGINS_EXAMPLE_ATOMIC_FILE_H_
