// Rendered archive pages of the Atom feed (internal).
//
// An archive page never changes (the store's seqs are dense and assigned in
// commit order), so once rendered its bytes, gzip form and ETag can be kept
// and served again without touching the store. Bounded: the least recently
// used page is dropped past kCapacity.
//
// Thread safety: all methods may be called concurrently.

#ifndef FHIRSYNC_SERVER_FEED_CACHE_H_
#define FHIRSYNC_SERVER_FEED_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/http_types.h"

namespace fhirsync::server {

class FeedCache {
 public:
  static constexpr std::size_t kCapacity = 512;

  // nullptr when absent.
  std::shared_ptr<const PreparedBody> Find(const std::string& key);
  void Insert(const std::string& key, std::shared_ptr<const PreparedBody> page);

 private:
  using Order = std::list<std::string>;
  struct Slot {
    std::shared_ptr<const PreparedBody> page;
    Order::iterator position;
  };
  std::mutex mutex_;
  Order order_;  // most recent first
  std::unordered_map<std::string, Slot> slots_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_FEED_CACHE_H_
