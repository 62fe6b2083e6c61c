// ActiveRequests: the connections a server is answering a request on
// (internal), so that a stop can cut off those that do not finish in time.
// A client that drips its request body or stalls reading the answer would
// otherwise hold its worker, and so the server's stop, for as long as it
// likes: Poco's own abort waits for the request's lock first.
//
// Thread safety: all methods may be called from any thread.

#ifndef FHIRSYNC_SERVER_ACTIVE_REQUESTS_H_
#define FHIRSYNC_SERVER_ACTIVE_REQUESTS_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include <Poco/Net/StreamSocket.h>

namespace fhirsync::server {

class ActiveRequests {
 public:
  // Registers `socket` (owned by the connection, which outlives the scope)
  // while a request is answered on it.
  class Scope {
   public:
    Scope(ActiveRequests& requests, Poco::Net::StreamSocket* socket);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ActiveRequests& requests_;
    Poco::Net::StreamSocket* const socket_;
  };

  // Waits until no request is in progress or `timeout` passed; true when
  // none is.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Shuts down the socket of every request in progress, and of every
  // request that starts from now on, at once: their reads and writes fail,
  // so their workers return.
  void CutOff();

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::set<Poco::Net::StreamSocket*> sockets_;
  bool cut_off_ = false;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ACTIVE_REQUESTS_H_
