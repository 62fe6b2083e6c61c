// What the fuzz targets share (fuzz/ only): a check that stops the fuzzer
// with a message, and a throwaway SQLite node store.
//
// A FUZZ_CHECK that fails is a finding like a sanitizer report: libFuzzer
// keeps the input as a crash file. The checks state properties every input
// must keep (a result the parser accepted is accepted again, a stamped body
// hashes as the body it came from), so the fuzzers find wrong answers and
// not only memory errors.

#ifndef FHIRSYNC_FUZZ_FUZZ_CHECK_H_
#define FHIRSYNC_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <memory>
#include <string>
#include <string_view>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"

#define FUZZ_CHECK(condition, what)                                                      \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,     \
                   #condition, std::string(what).c_str());                               \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

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

#endif  // FHIRSYNC_FUZZ_FUZZ_CHECK_H_
