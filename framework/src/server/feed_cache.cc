#include "server/feed_cache.h"

namespace fhirsync::server {

std::shared_ptr<const PreparedBody> FeedCache::Find(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second.position);
  return it->second.page;
}

void FeedCache::Insert(const std::string& key, std::shared_ptr<const PreparedBody> page) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = slots_.find(key);
  if (it != slots_.end()) {
    it->second.page = std::move(page);
    order_.splice(order_.begin(), order_, it->second.position);
    return;
  }
  order_.push_front(key);
  slots_.emplace(key, Slot{std::move(page), order_.begin()});
  while (slots_.size() > kCapacity) {
    slots_.erase(order_.back());
    order_.pop_back();
  }
}

}  // namespace fhirsync::server
