// Listener: the server's accepting socket and I/O threads (internal), over
// Boost.Asio. Each accepted connection is checked against the connection
// limits and handed to a session (beast_session.h), plain or TLS.
//
// Thread safety: Open(), Run() and Stop() are called from one thread (the
// NodeServer's owner).

#ifndef FHIRSYNC_SERVER_BEAST_LISTENER_H_
#define FHIRSYNC_SERVER_BEAST_LISTENER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fhirsync/status.h"
#include "server/beast_session.h"
#include "server/connection_limits.h"

namespace fhirsync::server {

class Listener {
 public:
  // `env` must outlive the listener.
  explicit Listener(SessionEnv& env);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens on `bind`:`port` (a numeric address or a host name;
  // port 0: any free one). InvalidArgument when `bind` is no address;
  // Unavailable when it cannot be bound.
  Status Open(const std::string& bind, int port);

  // The bound address (after Open()).
  const boost::asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }

  // Starts accepting on `threads` I/O threads.
  void Run(int threads);

  // Stops accepting; connections stay until Shutdown().
  void StopAccepting();

  // Stops the I/O threads and closes every connection. The caller stops
  // the workers first or after; either way no session runs afterwards.
  void Shutdown();

 private:
  void Accept();

  SessionEnv& env_;
  ConnectionLimits limits_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // after a failed accept (out of descriptors)
  boost::asio::ip::tcp::endpoint endpoint_;
  std::vector<std::thread> threads_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_BEAST_LISTENER_H_
