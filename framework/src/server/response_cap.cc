#include "server/response_cap.h"

#include <string>

namespace fhirsync::server {

std::size_t EntriesWithinCap(std::size_t count,
                             const std::function<std::size_t(std::size_t)>& body_bytes,
                             std::size_t page_bytes, std::size_t cap) {
  std::size_t used = page_bytes;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t added = body_bytes(i) + kPageEntryFramingBytes;
    if (i > 0 && !FitsResponseCap(used, added, cap)) return i;
    used += added;
  }
  return count;
}

Status OverResponseCapError(std::string_view what, std::size_t cap) {
  return ResourceExhaustedError(std::string(what) + " would pass the answer size cap of " +
                                std::to_string(cap) + " bytes (server.max_response_bytes)");
}

}  // namespace fhirsync::server
