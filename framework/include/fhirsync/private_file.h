// Files that hold secrets or patient data: the node's
// configuration (password hashes), the parent password and the SQLite store
// are readable by their owner only.
//
// Thread safety: the functions touch only the file they are given.

#ifndef FHIRSYNC_PRIVATE_FILE_H_
#define FHIRSYNC_PRIVATE_FILE_H_

#include <string>

#include "fhirsync/status.h"

namespace fhirsync {

// Writes `content` to `path` through a temporary file created with mode 0600
// beside it, then renames it over `path`, so a reader sees the old or the
// new file whole, and never a moment with other permissions. Unavailable
// naming the path and the system's reason on failure (the old file kept).
Status WritePrivateFile(const std::string& path, const std::string& content);

// Creates `path` empty with mode 0600 when it does not exist (a SQLite
// store made after this takes that mode, and its -wal and -shm files take it
// from the store). An existing file is left as it is. Unavailable naming
// the path and the system's reason on failure.
Status CreatePrivateFileIfAbsent(const std::string& path);

}  // namespace fhirsync

#endif  // FHIRSYNC_PRIVATE_FILE_H_
