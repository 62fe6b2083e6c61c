// Small file helpers of the plugin tests.

#ifndef FHIRSYNC_TESTS_PLUGIN_TEST_FILES_H_
#define FHIRSYNC_TESTS_PLUGIN_TEST_FILES_H_

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/temp_dir.h"

namespace fhirsync::testing {

// Writes `text` to `path`; throws (failing the test) when it cannot.
inline void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_PLUGIN_TEST_FILES_H_
