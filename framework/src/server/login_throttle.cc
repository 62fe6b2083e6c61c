#include "server/login_throttle.h"

#include <algorithm>
#include <vector>

namespace fhirsync::server {

LoginThrottle::LoginThrottle() : LoginThrottle(Options{}) {}

LoginThrottle::LoginThrottle(Options options) : options_(options) {}

std::string LoginThrottle::Key(std::string_view user, std::string_view address) {
  std::string key(address);
  key += '\n';  // neither a user name nor an address holds a newline
  key += user;
  return key;
}

std::int64_t LoginThrottle::RetryAfterSeconds(std::string_view user, std::string_view address,
                                              Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(Key(user, address));
  if (it == entries_.end() || it->second.blocked_until <= now) return 0;
  const auto left = it->second.blocked_until - now;
  // Rounded up: a client that waits what it is told is let in.
  return std::max<std::int64_t>(
      1, std::chrono::ceil<std::chrono::seconds>(left).count());
}

int LoginThrottle::RecordFailure(std::string_view user, std::string_view address,
                                 Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= options_.max_pairs) Shrink(now);
  Entry& entry = entries_[Key(user, address)];
  if (entry.failures > 0 && now - entry.last_failure >= options_.forget_after) entry = Entry{};
  ++entry.failures;
  entry.last_failure = now;
  const int over = entry.failures - options_.free_failures;
  if (over >= 0) {
    std::chrono::seconds wait = options_.first_wait;
    for (int i = 0; i < over && wait < options_.max_wait; ++i) wait *= 2;
    entry.blocked_until = now + std::min(wait, options_.max_wait);
  }
  return entry.failures;
}

void LoginThrottle::RecordSuccess(std::string_view user, std::string_view address) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(Key(user, address));
}

void LoginThrottle::Shrink(Clock::time_point now) {
  std::erase_if(entries_, [&](const auto& item) {
    const Entry& e = item.second;
    return e.blocked_until <= now && now - e.last_failure >= options_.forget_after;
  });
  if (entries_.size() < options_.max_pairs) return;
  // Still full of live pairs: drop the half that failed longest ago.
  std::vector<Clock::time_point> times;
  times.reserve(entries_.size());
  for (const auto& [key, e] : entries_) times.push_back(e.last_failure);
  auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
  std::nth_element(times.begin(), middle, times.end());
  const Clock::time_point cut = *middle;
  std::erase_if(entries_, [&](const auto& item) { return item.second.last_failure < cut; });
}

}  // namespace fhirsync::server
