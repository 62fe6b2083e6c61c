// TempDir: a fresh folder under $TMPDIR (or /tmp) that is removed with
// everything in it when the object goes away. Header-only.
//
// Thread safety: distinct objects may be used from distinct threads.

#ifndef FHIRSYNC_TESTS_SUPPORT_TEMP_DIR_H_
#define FHIRSYNC_TESTS_SUPPORT_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace fhirsync::testing {

class TempDir {
 public:
  // `prefix` names the folder ("fhirsync-cli-XXXXXX") so leftovers are
  // recognisable. Throws std::runtime_error if no folder can be made.
  explicit TempDir(const std::string& prefix = "fhirsync-test") {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base ? base : "/tmp") + "/" + prefix +
                          "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;  // best effort: a leftover folder fails no test
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_TEMP_DIR_H_
