#include "store/wal_write_buffer.h"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>

namespace fhirsync::store {
namespace {

constexpr char kVfsName[] = "fhirsync-wal-buffer";

// The VFS that `vfs` wraps.
sqlite3_vfs* Base(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

// Laid out by SQLite in szOsFile bytes: this, then the wrapped file.
struct BufferedFile {
  sqlite3_file base;   // first, as SQLite requires
  sqlite3_file* real;  // the wrapped VFS's file, right after this struct
  char* buffer;        // WAL files only; null otherwise
  int buffered;        // bytes in `buffer`
  sqlite3_int64 buffer_offset;  // where they go in the file
  // A database file and its connection's WAL file, while both are open.
  BufferedFile* wal;
  BufferedFile* database;
};

BufferedFile* Self(sqlite3_file* file) { return reinterpret_cast<BufferedFile*>(file); }
sqlite3_file* Real(sqlite3_file* file) { return Self(file)->real; }

// Hands the buffer on as one write.
int Drain(BufferedFile* file) {
  if (file->buffered == 0) return SQLITE_OK;
  const int rc = file->real->pMethods->xWrite(file->real, file->buffer, file->buffered,
                                              file->buffer_offset);
  file->buffered = 0;
  return rc;
}

int Close(sqlite3_file* file) {
  BufferedFile* self = Self(file);
  if (self->database != nullptr) self->database->wal = nullptr;
  if (self->wal != nullptr) self->wal->database = nullptr;
  const int drained = Drain(self);
  const int closed = self->real->pMethods->xClose(self->real);
  delete[] self->buffer;
  self->buffer = nullptr;
  return drained != SQLITE_OK ? drained : closed;
}

int Read(sqlite3_file* file, void* out, int size, sqlite3_int64 offset) {
  // Only a read of buffered bytes needs them in the file first. A large
  // transaction reads pages back from the WAL between its writes, and
  // draining at each of those reads cost most of what the buffer saves.
  BufferedFile* self = Self(file);
  if (self->buffered > 0 && offset < self->buffer_offset + self->buffered &&
      self->buffer_offset < offset + size) {
    if (const int rc = Drain(self); rc != SQLITE_OK) return rc;
  }
  return self->real->pMethods->xRead(self->real, out, size, offset);
}

int Write(sqlite3_file* file, const void* data, int size, sqlite3_int64 offset) {
  BufferedFile* self = Self(file);
  if (self->buffer == nullptr) return self->real->pMethods->xWrite(self->real, data, size, offset);
  const auto bytes = static_cast<std::size_t>(size);
  if (self->buffered > 0 && (offset != self->buffer_offset + self->buffered ||
                             static_cast<std::size_t>(self->buffered) + bytes > kWalBufferBytes)) {
    if (const int rc = Drain(self); rc != SQLITE_OK) return rc;
  }
  if (bytes > kWalBufferBytes) return self->real->pMethods->xWrite(self->real, data, size, offset);
  if (self->buffered == 0) self->buffer_offset = offset;
  std::memcpy(self->buffer + self->buffered, data, bytes);
  self->buffered += size;
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (const int rc = Drain(Self(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xTruncate(Real(file), size);
}

int Sync(sqlite3_file* file, int flags) {
  if (const int rc = Drain(Self(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xSync(Real(file), flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (const int rc = Drain(Self(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xFileSize(Real(file), size);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  if (const int rc = Drain(Self(file)); rc != SQLITE_OK) return rc;
  const int rc = Real(file)->pMethods->xFileControl(Real(file), op, arg);
  // The VFS names, outermost first, as SQLite's own shims report them.
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK) {
    char** names = static_cast<char**>(arg);
    *names = sqlite3_mprintf("%s/%z", kVfsName, *names);
  }
  return rc;
}

int Lock(sqlite3_file* file, int level) { return Real(file)->pMethods->xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) {
  return Real(file)->pMethods->xUnlock(Real(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int SectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}
int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return Real(file)->pMethods->xShmMap(Real(file), region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int count, int flags) {
  // Nothing buffered may outlive the lock it was written under. A commit
  // has drained the buffer at its sync; what a rolled-back transaction
  // wrote into the WAL (pages it spilled) may still be here, and written
  // later it would land on frames another writer has committed meanwhile.
  // Written now, it lands where it belongs: past the WAL's last frame, as
  // unbuffered it would have. A failure to write it loses nothing: it is
  // not part of the database.
  BufferedFile* self = Self(file);
  if ((flags & SQLITE_SHM_UNLOCK) != 0 && self->wal != nullptr) Drain(self->wal);
  return self->real->pMethods->xShmLock(self->real, offset, count, flags);
}
void ShmBarrier(sqlite3_file* file) { Real(file)->pMethods->xShmBarrier(Real(file)); }
int ShmUnmap(sqlite3_file* file, int remove) {
  return Real(file)->pMethods->xShmUnmap(Real(file), remove);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int size, void** out) {
  if (Real(file)->pMethods->iVersion < 3) {
    *out = nullptr;  // "not mapped": SQLite reads instead
    return SQLITE_OK;
  }
  if (const int rc = Drain(Self(file)); rc != SQLITE_OK) return rc;
  return Real(file)->pMethods->xFetch(Real(file), offset, size, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  if (Real(file)->pMethods->iVersion < 3) return SQLITE_OK;
  return Real(file)->pMethods->xUnfetch(Real(file), offset, page);
}

const sqlite3_io_methods kMethods = {
    3,  // iVersion: with xShm* and xFetch/xUnfetch
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  BufferedFile* self = new (file) BufferedFile{};
  self->real = reinterpret_cast<sqlite3_file*>(self + 1);
  const int rc = Base(vfs)->xOpen(Base(vfs), name, self->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite closes only a file that has methods, and this one gets none.
    if (self->real->pMethods != nullptr) self->real->pMethods->xClose(self->real);
    return rc;
  }
  if ((flags & SQLITE_OPEN_WAL) != 0) {
    self->buffer = new (std::nothrow) char[kWalBufferBytes];
    if (self->buffer == nullptr) {
      self->real->pMethods->xClose(self->real);
      return SQLITE_NOMEM;
    }
    // The connection's database file, opened through this VFS too.
    sqlite3_file* database = sqlite3_database_file_object(name);
    if (database != nullptr && database->pMethods == &kMethods) {
      self->database = Self(database);
      self->database->wal = self;
    }
  }
  self->base.pMethods = &kMethods;
  return SQLITE_OK;
}

// The rest is the wrapped VFS's, called with its own sqlite3_vfs.
int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, size, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Base(vfs)->xDlOpen(Base(vfs), name); }
void DlError(sqlite3_vfs* vfs, int size, char* out) { Base(vfs)->xDlError(Base(vfs), size, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Base(vfs)->xDlClose(Base(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int size, char* out) {
  return Base(vfs)->xRandomness(Base(vfs), size, out);
}
int Sleep(sqlite3_vfs* vfs, int microseconds) {
  return Base(vfs)->xSleep(Base(vfs), microseconds);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Base(vfs)->xCurrentTime(Base(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int size, char* out) {
  return Base(vfs)->xGetLastError(Base(vfs), size, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}

}  // namespace

const char* RegisterWalWriteBufferVfsOver(sqlite3_vfs* base, const char* name) {
  // Registered VFSs live as long as the process.
  auto* vfs = new sqlite3_vfs{};
  vfs->iVersion = 2;  // no system-call overrides (version 3)
  vfs->szOsFile = static_cast<int>(sizeof(BufferedFile)) + base->szOsFile;
  vfs->mxPathname = base->mxPathname;
  vfs->zName = name;
  vfs->pAppData = base;
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  // Absent from a SQLite built without extension loading.
  if (base->xDlOpen != nullptr) {
    vfs->xDlOpen = DlOpen;
    vfs->xDlError = DlError;
    vfs->xDlSym = DlSym;
    vfs->xDlClose = DlClose;
  }
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  if (base->iVersion >= 2) vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  sqlite3_vfs_register(vfs, /*makeDflt=*/0);
  return name;
}

const char* RegisterWalWriteBufferVfs() {
  static const char* const name =
      RegisterWalWriteBufferVfsOver(sqlite3_vfs_find(nullptr), kVfsName);
  return name;
}

std::string WalWriteBufferUri(const std::string& path) {
  // Made absolute, the URI reads "file://" + an empty authority + the path
  // (a path that starts with "//" would otherwise be read as an authority);
  // '%', '?' and '#' are escaped, as URI syntax.
  std::error_code error;
  const std::string absolute = std::filesystem::absolute(path, error).string();
  const bool rooted = !error && !absolute.empty() && absolute[0] == '/';
  std::string uri = rooted ? "file://" : "file:";
  for (char c : rooted ? absolute : path) {
    switch (c) {
      case '%': uri += "%25"; break;
      case '?': uri += "%3f"; break;
      case '#': uri += "%23"; break;
      default: uri += c;
    }
  }
  uri += "?vfs=";
  uri += RegisterWalWriteBufferVfs();
  return uri;
}

}  // namespace fhirsync::store
