// ActiveRequests: the requests a server is answering (internal), so that a
// stop can cut off those that do not finish in time. A client that drips
// its request body or stalls reading the answer, or a handler that takes
// long, would otherwise hold the server's stop for as long as it likes.
//
// Thread safety: all methods may be called from any thread. A cut-off
// callback is called with the registry's lock held, so it must only hand
// work over (post to an executor), never block.

#ifndef FHIRSYNC_SERVER_ACTIVE_REQUESTS_H_
#define FHIRSYNC_SERVER_ACTIVE_REQUESTS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace fhirsync::server {

class ActiveRequests {
 public:
  // Registers a request in progress while it lives; `cut_off` ends its
  // connection (called at most once, from CutOff() or at once when the
  // registry was cut off already).
  class Scope {
   public:
    Scope(ActiveRequests& requests, std::function<void()> cut_off);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ActiveRequests& requests_;
    std::uint64_t id_ = 0;
  };

  // Waits until no request is in progress or `timeout` passed; true when
  // none is.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Cuts off every request in progress, and every request that starts from
  // now on, at once.
  void CutOff();

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::uint64_t, std::function<void()>> active_;
  std::uint64_t next_id_ = 1;
  bool cut_off_ = false;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ACTIVE_REQUESTS_H_
