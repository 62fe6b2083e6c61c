#include "body_input.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace fhirsync::cli {

StatusOr<std::string> ReadBody(const std::string& path, std::size_t max_bytes) {
  const bool use_stdin = path == "-";
  std::FILE* in = use_stdin ? stdin : std::fopen(path.c_str(), "rb");
  if (in == nullptr) {
    return NotFoundError(path + ": cannot open: " + std::strerror(errno));
  }
  std::string body;
  char chunk[64 * 1024];
  bool too_big = false;
  while (true) {
    std::size_t n = std::fread(chunk, 1, sizeof chunk, in);
    if (n == 0) break;
    if (body.size() + n > max_bytes) {
      too_big = true;
      break;
    }
    body.append(chunk, n);
  }
  bool failed = std::ferror(in) != 0;
  if (!use_stdin) std::fclose(in);
  const std::string name = use_stdin ? "stdin" : path;
  if (too_big) {
    return ResourceExhaustedError(name + ": body is larger than store.max_body_bytes (" +
                                  std::to_string(max_bytes) + " bytes)");
  }
  if (failed) return UnavailableError(name + ": read failed");
  return body;
}

}  // namespace fhirsync::cli
