// PowerLossVfs: a SQLite VFS for tests that cuts the power under whatever
// is layered above it (the store's connections, and the store's own WAL
// buffering VFS, which wraps SQLite's default VFS when it is registered).
//
// Every write reaches the file at once, as it reaches the OS's page cache,
// so every connection sees it; what the VFS adds is a record, per file, of
// what the file held at its last sync (the bytes each page had before its
// first write since then, the size). A power cut is armed at an event (a
// write, sync, truncate or delete of a database, WAL or journal file, in
// the order they reach this VFS): that event and every one after it fail
// with an I/O error and reach no file, as if the machine had stopped there.
// Once every connection is closed, RestoreAfterPowerCut() leaves each file
// as the disk would hold it after the cut: its content at its last sync,
// with each page written since then (4 KiB, aligned) kept as written,
// lost, or garbage over the bytes written (the device promises that a
// write disturbs no byte outside it: SQLite's unix VFS claims
// SQLITE_IOCAP_POWERSAFE_OVERWRITE), chosen page by page at random, as
// SQLite's own crash tests do; a truncate since the sync is kept or lost
// as a page is. A delete is durable at once; the -shm file is not a file
// this VFS sees (SQLite rebuilds it from the WAL anyway).
//
// Thread safety: every method may be called from any thread; the file
// operations of all connections are serialised on one mutex.

#ifndef FHIRSYNC_TESTS_STORE_POWER_LOSS_VFS_H_
#define FHIRSYNC_TESTS_STORE_POWER_LOSS_VFS_H_

#include <cstdint>
#include <random>
#include <string>

namespace fhirsync::testing {

class PowerLossVfs {
 public:
  // Registers the VFS over SQLite's default one and makes it the default,
  // once per process. Call it before anything registers a VFS over the
  // default (RegisterWalWriteBufferVfs() does, at the first store opened).
  static PowerLossVfs& Install();

  // Kinds of event, for arming and counting.
  enum class Event {
    kAny,
    kSync,
    kDatabaseWrite,  // a write to a file other than a WAL (a checkpoint's)
    kWalRestart,     // a write at the start of a WAL (its header: it starts over)
  };

  // The power goes off at the `n`-th event of `kind` from now (1 is the
  // next one); 0: never. Counts every kind from zero again. Armed at a
  // sync, every write since the sync before it is unsynced.
  void CutPowerAt(Event kind, std::uint64_t n);
  // Events of `kind` since the last CutPowerAt() or RestoreAfterPowerCut().
  std::uint64_t count(Event kind) const;
  // Whether the armed event has come.
  bool power_cut() const;
  // The event the power went off at ("write store.sqlite-wal at 4152",
  // "sync store.sqlite", "delete store.sqlite-wal"); empty before.
  std::string cut_event() const;

  // Call once every connection to the files is closed. Puts every file
  // back as the disk would hold it after a power cut now (see above): each
  // page written since the file's last sync is kept with `kept_percent`
  // chance, garbage with `garbage_percent`, otherwise lost (0 and 0: every
  // file exactly as at its last sync; 100: as if the cut came just after
  // the writes reached the disk). Then turns the power back on (nothing
  // armed) and starts the record over from the files as they now are.
  // Returns a summary ("2 files, 37 unsynced pages: 12 kept, 20 lost, 5
  // garbage"). Throws std::runtime_error if a file cannot be rewritten.
  std::string RestoreAfterPowerCut(std::mt19937_64& random, int kept_percent,
                                   int garbage_percent);

 private:
  PowerLossVfs() = default;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_STORE_POWER_LOSS_VFS_H_
