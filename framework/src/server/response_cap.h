// The cap on the answers the server builds whole in memory (internal):
// server.max_response_bytes. A Bundle's answer holds a copy of every
// resource its entries read, so a small request (800 reads of one large
// resource) could make an answer many times the size of anything stored;
// search and _history pages hold up to _count bodies. Handlers count what
// they have written against the cap before they add the next piece, so an
// answer never grows past it (docs/configuration.md says what each does
// when it would).
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_SERVER_RESPONSE_CAP_H_
#define FHIRSYNC_SERVER_RESPONSE_CAP_H_

#include <cstddef>
#include <functional>
#include <string_view>

#include "fhirsync/status.h"

namespace fhirsync::server {

// True when an answer of `used` bytes stays within `cap` after `added` more.
inline bool FitsResponseCap(std::size_t used, std::size_t added, std::size_t cap) {
  return added <= cap && used <= cap - added;
}

// What one entry of a search or _history page holds beside its resource:
// fullUrl, request, response and search members (URLs of at most a few
// hundred bytes each).
inline constexpr std::size_t kPageEntryFramingBytes = 1024;

// How many entries of a page, from the first, fit within `cap` when the
// page's own members (type, total, links) take `page_bytes` and entry i
// holds `body_bytes(i)` bytes of resource: at least one when `count` > 0, so
// that a client paging on always moves on (one resource is at most
// store.max_body_bytes).
std::size_t EntriesWithinCap(std::size_t count,
                             const std::function<std::size_t(std::size_t)>& body_bytes,
                             std::size_t page_bytes, std::size_t cap);

// ResourceExhausted (413 "too-costly"): "<what> would pass the answer size
// cap of <cap> bytes (server.max_response_bytes)".
Status OverResponseCapError(std::string_view what, std::size_t cap);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_RESPONSE_CAP_H_
