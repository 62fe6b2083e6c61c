#include "server/child_tracker.h"

#include <algorithm>
#include <charconv>

#include "fhirsync/resource.h"

namespace fhirsync::server {

void ChildTracker::Saw(const HttpRequest& request, int status, std::int64_t now_ms,
                       std::int64_t feed_page_size) {
  const auto& s = request.segments;
  if (request.user.empty() || status >= 400 || s.empty()) return;
  if (s[0] != "fhir" && s[0] != "feed" && s[0] != "ws") return;
  // A node id that is not one (wrong characters, too long) is not taken as
  // a name: the request counts under its user.
  std::string node_id;
  if (const std::string* header = request.Header(kChildNodeIdHeader);
      header != nullptr && ValidateId(*header).ok()) {
    node_id = *header;
  }
  const std::string key = node_id.empty() ? "user:" + request.user : "node:" + node_id;
  std::lock_guard<std::mutex> lock(mutex_);
  if (children_.size() >= kMaxChildren && children_.find(key) == children_.end()) {
    auto oldest = std::min_element(children_.begin(), children_.end(),
                                   [](const auto& a, const auto& b) {
                                     return a.second.last_contact_ms < b.second.last_contact_ms;
                                   });
    children_.erase(oldest);
  }
  ChildSeen& child = children_[key];
  child.node_id = node_id;
  child.name = request.user;
  child.last_contact_ms = now_ms;
  ++child.requests;
  if (s[0] != "feed" || s.size() != 2) return;
  child.last_feed_read_ms = now_ms;
  if (s[1] == "recent") {
    child.at_head = true;
    return;
  }
  std::int64_t page = 0;
  auto [end, error] = std::from_chars(s[1].data(), s[1].data() + s[1].size(), page);
  if (error != std::errc() || end != s[1].data() + s[1].size() || page < 1) return;
  child.at_head = false;
  child.feed_position = page * feed_page_size;
}

std::vector<ChildSeen> ChildTracker::Since(std::int64_t since_ms) const {
  std::vector<ChildSeen> recent;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, child] : children_) {
      if (child.last_contact_ms >= since_ms) recent.push_back(child);
    }
  }
  std::sort(recent.begin(), recent.end(), [](const ChildSeen& a, const ChildSeen& b) {
    return a.last_contact_ms > b.last_contact_ms;
  });
  return recent;
}

}  // namespace fhirsync::server
