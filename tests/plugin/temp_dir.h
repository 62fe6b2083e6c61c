// TempDir: a fresh folder under $TMPDIR, removed with everything in it when
// the object goes. For tests only.

#ifndef FHIRSYNC_TESTS_PLUGIN_TEMP_DIR_H_
#define FHIRSYNC_TESTS_PLUGIN_TEMP_DIR_H_

#include <string>

namespace fhirsync::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path` (test setup; aborts the test binary on failure).
void WriteTextFile(const std::string& path, const std::string& text);

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_PLUGIN_TEMP_DIR_H_
