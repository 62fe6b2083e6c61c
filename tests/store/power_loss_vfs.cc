#include "power_loss_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace fhirsync::testing {
namespace {

constexpr char kVfsName[] = "fhirsync-test-power-loss";
constexpr sqlite3_int64 kPage = 4096;

// What one file held at its last sync, and what was done to it since.
struct FileRecord {
  sqlite3_int64 synced_size = 0;
  sqlite3_int64 min_size = 0;  // the smallest size a truncate left since the sync
  // Pages below synced_size written or cut off since the sync: their bytes
  // at the sync (shorter than a page at the end of the file).
  std::map<sqlite3_int64, std::string> originals;
  // Pages written since the sync: the span of bytes written in each.
  std::map<sqlite3_int64, std::pair<int, int>> written;
};

struct State {
  std::mutex mutex;
  std::map<std::string, FileRecord> files;  // by full path
  // Events of each kind since armed, and the one the power goes off at
  // (0: never).
  std::uint64_t counts[4] = {0, 0, 0, 0};
  PowerLossVfs::Event cut_kind = PowerLossVfs::Event::kAny;
  std::uint64_t cut_at = 0;
  bool cut = false;
  std::string cut_event;  // what the power went off at
};

State& Shared() {
  static State* const state = new State;  // lives as long as the process
  return *state;
}

// The file name after its last '/'.
std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Counts an event; false once the power is off (the event must not
// happen). `what` describes it ("write", "sync", ...), `offset` where in
// `path` (or -1).
bool PowerOnFor(State& state, const char* what, const std::string& path,
                sqlite3_int64 offset = -1) {
  using Event = PowerLossVfs::Event;
  if (state.cut) return false;
  const bool wal = path.ends_with("-wal");
  const bool write = std::strcmp(what, "write") == 0;
  bool is[4] = {true, std::strcmp(what, "sync") == 0, write && !wal, write && wal && offset == 0};
  for (int kind = 0; kind < 4; ++kind) state.counts[kind] += is[kind] ? 1 : 0;
  const int armed = static_cast<int>(state.cut_kind);
  if (state.cut_at != 0 && is[armed] && state.counts[armed] >= state.cut_at) {
    static_assert(static_cast<int>(Event::kWalRestart) == 3);
    state.cut = true;
    state.cut_event = std::string(what) + " " + BaseName(path) +
                      (offset >= 0 ? " at " + std::to_string(offset) : std::string());
  }
  return !state.cut;
}

sqlite3_vfs* Base(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

// Laid out by SQLite in szOsFile bytes: this, then the wrapped file.
struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
  std::string* path;  // null: a file no power cut concerns (temporary files)
};

ShimFile* Self(sqlite3_file* file) { return reinterpret_cast<ShimFile*>(file); }
sqlite3_file* Real(sqlite3_file* file) { return Self(file)->real; }

sqlite3_int64 RealSize(sqlite3_file* real) {
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK) return 0;
  return size;
}

// Keeps the bytes page `page` held at the sync, before they change.
void KeepOriginal(FileRecord& record, sqlite3_file* real, sqlite3_int64 page) {
  const sqlite3_int64 start = page * kPage;
  if (start >= record.synced_size || record.originals.count(page) != 0) return;
  std::string bytes(static_cast<std::size_t>(std::min(kPage, record.synced_size - start)), '\0');
  // A short read fills with zeros, which is what a page cut off and not
  // kept would read as; every page below synced_size is kept before it is
  // cut, so this does not happen.
  real->pMethods->xRead(real, bytes.data(), static_cast<int>(bytes.size()), start);
  record.originals.emplace(page, std::move(bytes));
}

int Close(sqlite3_file* file) {
  ShimFile* self = Self(file);
  const int rc = self->real->pMethods->xClose(self->real);
  delete self->path;
  self->path = nullptr;
  return rc;
}

int Read(sqlite3_file* file, void* out, int size, sqlite3_int64 offset) {
  return Real(file)->pMethods->xRead(Real(file), out, size, offset);
}

int Write(sqlite3_file* file, const void* data, int size, sqlite3_int64 offset) {
  ShimFile* self = Self(file);
  if (self->path == nullptr) return self->real->pMethods->xWrite(self->real, data, size, offset);
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!PowerOnFor(state, "write", *self->path, offset)) return SQLITE_IOERR_WRITE;
  FileRecord& record = state.files[*self->path];
  const sqlite3_int64 end = offset + size;
  for (sqlite3_int64 page = offset / kPage; page * kPage < end; ++page) {
    KeepOriginal(record, self->real, page);
    const int from = static_cast<int>(std::max(offset, page * kPage) - page * kPage);
    const int to = static_cast<int>(std::min(end, (page + 1) * kPage) - page * kPage);
    auto [span, added] = record.written.emplace(page, std::make_pair(from, to));
    if (!added) {
      span->second.first = std::min(span->second.first, from);
      span->second.second = std::max(span->second.second, to);
    }
  }
  return self->real->pMethods->xWrite(self->real, data, size, offset);
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  ShimFile* self = Self(file);
  if (self->path == nullptr) return self->real->pMethods->xTruncate(self->real, size);
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!PowerOnFor(state, "truncate", *self->path, size)) return SQLITE_IOERR_TRUNCATE;
  FileRecord& record = state.files[*self->path];
  for (sqlite3_int64 page = size / kPage; page * kPage < record.synced_size; ++page) {
    KeepOriginal(record, self->real, page);
  }
  record.min_size = std::min(record.min_size, size);
  return self->real->pMethods->xTruncate(self->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  ShimFile* self = Self(file);
  if (self->path == nullptr) return self->real->pMethods->xSync(self->real, flags);
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!PowerOnFor(state, "sync", *self->path)) return SQLITE_IOERR_FSYNC;
  const int rc = self->real->pMethods->xSync(self->real, flags);
  if (rc == SQLITE_OK) {
    // Whoever wrote them, every write to the file so far is on the disk.
    FileRecord& record = state.files[*self->path];
    record = FileRecord{};
    record.synced_size = record.min_size = RealSize(self->real);
  }
  return rc;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  return Real(file)->pMethods->xFileSize(Real(file), size);
}
int Lock(sqlite3_file* file, int level) { return Real(file)->pMethods->xLock(Real(file), level); }
int Unlock(sqlite3_file* file, int level) {
  return Real(file)->pMethods->xUnlock(Real(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  const int rc = Real(file)->pMethods->xFileControl(Real(file), op, arg);
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK) {
    char** names = static_cast<char**>(arg);
    *names = sqlite3_mprintf("%s/%z", kVfsName, *names);
  }
  return rc;
}
int SectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}
int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return Real(file)->pMethods->xShmMap(Real(file), region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int count, int flags) {
  return Real(file)->pMethods->xShmLock(Real(file), offset, count, flags);
}
void ShmBarrier(sqlite3_file* file) { Real(file)->pMethods->xShmBarrier(Real(file)); }
int ShmUnmap(sqlite3_file* file, int remove) {
  return Real(file)->pMethods->xShmUnmap(Real(file), remove);
}

// Version 2: no xFetch, so SQLite reads every page through xRead (the
// store does not turn memory mapping on either).
const sqlite3_io_methods kMethods = {
    2,         Close,   Read,      Write,     Truncate,   Sync,       FileSize,
    Lock,      Unlock,  CheckReservedLock,    FileControl,           SectorSize,
    DeviceCharacteristics,         ShmMap,    ShmLock,    ShmBarrier, ShmUnmap,
    nullptr,   nullptr,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  ShimFile* self = new (file) ShimFile{};
  self->real = reinterpret_cast<sqlite3_file*>(self + 1);
  const int rc = Base(vfs)->xOpen(Base(vfs), name, self->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (self->real->pMethods != nullptr) self->real->pMethods->xClose(self->real);
    return rc;
  }
  constexpr int kDurable = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL;
  if (name != nullptr && (flags & kDurable) != 0) {
    self->path = new std::string(name);
    State& state = Shared();
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.files.count(name) == 0) {
      // First seen: whatever it holds is on the disk.
      FileRecord& record = state.files[name];
      record.synced_size = record.min_size = RealSize(self->real);
    }
  }
  self->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!PowerOnFor(state, "delete", name)) return SQLITE_IOERR_DELETE;
  state.files.erase(name);
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
int SleepFor(sqlite3_vfs* vfs, int microseconds) {
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

// A file opened for the restore, closed on every path.
class PosixFile {
 public:
  explicit PosixFile(const std::string& path) : fd_(open(path.c_str(), O_RDWR)) {}
  ~PosixFile() {
    if (fd_ >= 0) close(fd_);
  }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw std::runtime_error("power loss: cannot " + what + " '" + path + "': " +
                           std::strerror(errno));
}

// Rewrites one file as the disk would hold it after the cut; adds to the
// counts of pages kept, lost and trashed.
void RestoreFile(const std::string& path, const FileRecord& record, std::mt19937_64& random,
                 int kept_percent, int garbage_percent, long counts[3]) {
  PosixFile file(path);
  if (file.fd() < 0) {
    if (errno == ENOENT) return;  // deleted: a delete is durable at once
    Fail("open", path);
  }
  // A truncate since the sync reached the disk, or did not.
  const sqlite3_int64 base_size =
      record.min_size < record.synced_size && static_cast<int>(random() % 100) < kept_percent
          ? record.min_size
          : record.synced_size;
  std::map<sqlite3_int64, std::string> pages;  // page -> its bytes after the cut
  sqlite3_int64 final_size = base_size;
  auto old_bytes = [&](sqlite3_int64 page) {
    auto kept = record.originals.find(page);
    std::string bytes = kept != record.originals.end() ? kept->second : std::string();
    bytes.resize(static_cast<std::size_t>(
        std::clamp<sqlite3_int64>(base_size - page * kPage, 0,
                                  static_cast<sqlite3_int64>(bytes.size()))));
    return bytes;
  };
  for (const auto& [page, original] : record.originals) pages[page] = old_bytes(page);
  for (const auto& [page, span] : record.written) {
    std::string bytes = old_bytes(page);
    // 0: kept as written, 1: lost, 2: garbage over the bytes written.
    const int roll = static_cast<int>(random() % 100);
    const int fate = roll < kept_percent ? 0 : roll < kept_percent + garbage_percent ? 2 : 1;
    ++counts[fate];
    if (fate != 1) {
      const auto [from, to] = span;
      if (bytes.size() < static_cast<std::size_t>(to)) bytes.resize(to, '\0');
      if (fate == 0) {
        std::string now(static_cast<std::size_t>(to - from), '\0');
        const ssize_t got = pread(file.fd(), now.data(), now.size(), page * kPage + from);
        if (got < 0) Fail("read", path);  // short: cut by a later truncate, reads as zeros
        bytes.replace(from, now.size(), now);
      } else {
        for (int i = from; i < to; ++i) bytes[i] = static_cast<char>(random());
      }
      final_size = std::max(final_size, page * kPage + static_cast<sqlite3_int64>(bytes.size()));
    }
    pages[page] = std::move(bytes);
  }
  if (ftruncate(file.fd(), final_size) != 0) Fail("truncate", path);
  for (auto& [page, bytes] : pages) {
    const sqlite3_int64 start = page * kPage;
    if (start >= final_size) continue;
    // A page past the old end that lost its write is a hole: zeros.
    bytes.resize(static_cast<std::size_t>(std::min(kPage, final_size - start)), '\0');
    if (pwrite(file.fd(), bytes.data(), bytes.size(), start) !=
        static_cast<ssize_t>(bytes.size())) {
      Fail("write", path);
    }
  }
}

}  // namespace

PowerLossVfs& PowerLossVfs::Install() {
  static PowerLossVfs* const instance = [] {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    auto* vfs = new sqlite3_vfs{};  // registered VFSs live as long as the process
    vfs->iVersion = 2;
    vfs->szOsFile = static_cast<int>(sizeof(ShimFile)) + base->szOsFile;
    vfs->mxPathname = base->mxPathname;
    vfs->zName = kVfsName;
    vfs->pAppData = base;
    vfs->xOpen = Open;
    vfs->xDelete = Delete;
    vfs->xAccess = Access;
    vfs->xFullPathname = FullPathname;
    if (base->xDlOpen != nullptr) {
      vfs->xDlOpen = DlOpen;
      vfs->xDlError = DlError;
      vfs->xDlSym = DlSym;
      vfs->xDlClose = DlClose;
    }
    vfs->xRandomness = Randomness;
    vfs->xSleep = SleepFor;
    vfs->xCurrentTime = CurrentTime;
    vfs->xGetLastError = GetLastError;
    if (base->iVersion >= 2) vfs->xCurrentTimeInt64 = CurrentTimeInt64;
    sqlite3_vfs_register(vfs, /*makeDflt=*/1);
    return new PowerLossVfs;
  }();
  return *instance;
}

void PowerLossVfs::CutPowerAt(Event kind, std::uint64_t n) {
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  for (std::uint64_t& count : state.counts) count = 0;
  state.cut_kind = kind;
  state.cut_at = n;
  state.cut = false;
}

std::uint64_t PowerLossVfs::count(Event kind) const {
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.counts[static_cast<int>(kind)];
}

bool PowerLossVfs::power_cut() const {
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.cut;
}

std::string PowerLossVfs::cut_event() const {
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.cut ? state.cut_event : std::string();
}

std::string PowerLossVfs::RestoreAfterPowerCut(std::mt19937_64& random, int kept_percent,
                                               int garbage_percent) {
  State& state = Shared();
  std::lock_guard<std::mutex> lock(state.mutex);
  long counts[3] = {0, 0, 0};
  for (const auto& [path, record] : state.files) {
    RestoreFile(path, record, random, kept_percent, garbage_percent, counts);
  }
  const std::size_t files = state.files.size();
  // The power is back; what the files hold now is on the disk.
  state.files.clear();
  for (std::uint64_t& count : state.counts) count = 0;
  state.cut_at = 0;
  state.cut = false;
  state.cut_event.clear();
  return std::to_string(files) + " files, " + std::to_string(counts[0] + counts[1] + counts[2]) +
         " unsynced pages: " + std::to_string(counts[0]) + " kept, " +
         std::to_string(counts[1]) + " lost, " + std::to_string(counts[2]) + " garbage";
}

}  // namespace fhirsync::testing
