// A SQLite VFS that gathers the small writes of a WAL into large ones
// (internal header).
//
// Why: SQLite writes every WAL frame with two write calls, its 24-byte
// header and then the page. In an import those calls were a quarter of the
// writer thread's time, nearly all of it the kernel's cost per call rather
// than per byte. This VFS wraps the default one and, for WAL files only,
// gathers writes that continue one another in a buffer of up to
// kWalBufferBytes, which it hands on as one write.
//
// Why it is safe: the buffer is handed on before anything that could see
// the file without it: a sync, a read of any buffered byte, a truncate, a
// size query, a file control, a close, and a write that does not continue
// it. The default VFS
// therefore receives the same bytes in the same order, in fewer calls, and
// the file is the same as without the buffer whenever it is synced. SQLite
// publishes a commit to other connections (in the WAL index) only after it
// has synced the WAL when synchronous is FULL, which is why only the store's
// write connection, always FULL, uses this VFS (with NORMAL a commit is
// published unsynced, and other connections would miss frames still in the
// buffer). Nor does anything buffered outlive the connection's WAL locks:
// pages that a rolled-back transaction had spilled into the WAL are written
// before its write lock is released, since written later they would land on
// frames that another writer has committed meanwhile. A process killed with
// frames in the buffer loses only frames of a transaction that had not
// committed, which recovery discards anyway.

#ifndef FHIRSYNC_STORE_WAL_WRITE_BUFFER_H_
#define FHIRSYNC_STORE_WAL_WRITE_BUFFER_H_

#include <sqlite3.h>

#include <cstddef>
#include <string>

namespace fhirsync::store {

// Below SQLite's unix VFS limit for one write call (128 KiB - 1; it writes
// a larger one in pieces of that size, and a remainder of exactly 128 KiB
// becomes a zero-length write that it reports as a full disk).
inline constexpr std::size_t kWalBufferBytes = 120 * 1024;

// Registers the VFS over SQLite's default one (once per process; not as
// the default) and returns its name, for the `vfs` parameter of a URI file
// name.
const char* RegisterWalWriteBufferVfs();

// Registers another such VFS, named `name` (which must outlive it), over
// `base`. For tests, which wrap a VFS that counts what reaches it.
const char* RegisterWalWriteBufferVfsOver(sqlite3_vfs* base, const char* name);

// "file:" URI for `path` that opens it through the VFS above.
std::string WalWriteBufferUri(const std::string& path);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_WAL_WRITE_BUFFER_H_
