// Small text helpers shared by the framework's parts (internal header).

#ifndef FHIRSYNC_CORE_TEXT_UTIL_H_
#define FHIRSYNC_CORE_TEXT_UTIL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fhirsync {

// Makes untrusted text safe to quote in an error message: control and
// non-ASCII bytes become \xNN and the result is cut at `max_chars` with "...".
std::string EscapeForMessage(std::string_view text, std::size_t max_chars = 80);

// `text` without the spaces at its ends.
std::string_view TrimSpaces(std::string_view text);

// Splits "a, b,,c" into {"a","b","c"} (parts trimmed of spaces, empty ones
// dropped).
std::vector<std::string> SplitList(std::string_view text, char separator = ',');

// Lower-case hex of bytes.
std::string HexEncode(std::string_view bytes);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// SHA-256 of bytes given piece by piece (a file streamed from disk or the
// network, never held whole). Not thread-safe; one stream per object.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  // Lower-case hex of everything given so far; ends the stream.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// A random (version 4) UUID, "0f8fad5b-d9cb-469f-a165-70867728950e".
std::string NewUuid();
// `count` of them from one read of the kernel's CSPRNG: a bulk write needs
// one per row, and a system call each cost more than the rest of making it.
std::vector<std::string> NewUuids(std::size_t count);

}  // namespace fhirsync

#endif  // FHIRSYNC_CORE_TEXT_UTIL_H_
