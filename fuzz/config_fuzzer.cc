// Fuzzes the node configuration reader (core/config.cc: ParseNodeConfig),
// which reads fhirsync.json, a file an operator edits by hand.
//
// Properties: no crash or sanitizer report; a refusal names the file; a
// configuration it accepts survives the round trip: written out
// (SerializeNodeConfig) it is accepted again and written out the same.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fhirsync/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirsync;
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseNodeConfig(json, "fuzz.json");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().message().rfind("fuzz.json", 0) == 0,
               "a refusal that does not name the file: " + parsed.status().message());
    return 0;
  }
  const std::string written = SerializeNodeConfig(*parsed);
  auto again = ParseNodeConfig(written, "again.json");
  FUZZ_CHECK(again.ok(), "a written configuration is refused: " + again.status().message() +
                             "\n" + written);
  FUZZ_CHECK(SerializeNodeConfig(*again) == written,
             "the round trip changed the configuration:\n" + written + "\n" +
                 SerializeNodeConfig(*again));
  return 0;
}
