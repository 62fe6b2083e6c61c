// A throwaway SQLite node store for the fuzz targets that write (fuzz/ only;
// they link the framework).

#ifndef FHIRSYNC_FUZZ_FUZZ_STORE_H_
#define FHIRSYNC_FUZZ_FUZZ_STORE_H_

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fuzz_check.h"

namespace fhirsync::fuzz {

// A SQLite store in a new temporary folder (under $TMPDIR, else /dev/shm
// when it exists, so the fuzzer's writes stay in memory, else /tmp), opened
// once per process and removed at exit. Aborts when it cannot be made: a
// fuzzer without its store would test nothing.
inline LocalStore& FuzzStore() {
  static std::string folder;
  static LocalStore* store = [] {
    std::error_code ignored;
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp != nullptr && *tmp != '\0'                       ? tmp
                       : std::filesystem::is_directory("/dev/shm", ignored) ? "/dev/shm"
                                                                            : "/tmp";
    std::string pattern = base + "/fhirsync-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr, "cannot make a folder under " + base);
    folder = pattern;
    auto opened = OpenLocalStore(StoreConfig{}, folder, "fuzz-node");
    FUZZ_CHECK(opened.ok(), opened.status().message());
    std::atexit([] {
      delete store;
      std::error_code error;
      std::filesystem::remove_all(folder, error);
    });
    return opened->release();
  }();
  return *store;
}

}  // namespace fhirsync::fuzz

#endif  // FHIRSYNC_FUZZ_FUZZ_STORE_H_
