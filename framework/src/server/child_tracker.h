// ChildTracker: the children a parent has heard from recently (internal),
// for the admin page's list (GET /admin/children). A child is known by the
// node id it sends in the X-Fhirsync-Node-Id request header (fhirsync's
// own transports send it), so children that share one user (a district's
// tablets signing in as `tablet`) are told apart; a request without the
// header (another client, an older child) counts under its user name.
// Kept in memory, so the list starts empty when `serve` starts; at most
// kMaxChildren entries, the longest silent forgotten first, so a client
// that invents node ids cannot grow it without bound.
//
// How far behind a child is can be told only from what it reads: the Atom
// feed's archive page n holds seqs up to n * server.feed_page_size, so a
// child that last read page n is at least LastSeq - n * size changes behind;
// one that read /feed/recent was caught up then; other reads (the
// fhir-history feed, single resources) say nothing about its position.
//
// Thread safety: every method may be called from many threads at once.

#ifndef FHIRSYNC_SERVER_CHILD_TRACKER_H_
#define FHIRSYNC_SERVER_CHILD_TRACKER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/http_types.h"

namespace fhirsync::server {

// The request header in which a child names itself.
inline constexpr char kChildNodeIdHeader[] = "X-Fhirsync-Node-Id";

struct ChildSeen {
  std::string node_id;  // as it named itself; empty: it did not
  std::string name;     // the user it authenticated as
  std::int64_t last_contact_ms = 0;
  std::int64_t requests = 0;
  // The last seq of the newest feed page it read; nullopt when it never read
  // an archive page. `at_head`: its last feed read was /feed/recent.
  std::optional<std::int64_t> feed_position;
  bool at_head = false;
  std::int64_t last_feed_read_ms = 0;
};

class ChildTracker {
 public:
  static constexpr std::size_t kMaxChildren = 10'000;

  // Notes a request answered (status < 400) for `request.user` under /fhir,
  // /feed or /ws/rest (the admin API, /metrics and /healthz are not a
  // child's traffic).
  void Saw(const HttpRequest& request, int status, std::int64_t now_ms,
           std::int64_t feed_page_size);

  // The children heard from at or after `since_ms`, most recent first.
  std::vector<ChildSeen> Since(std::int64_t since_ms) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, ChildSeen> children_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_CHILD_TRACKER_H_
