// ConnectionSetup: socket options set once per accepted connection
// (internal).
//
// Poco's HTTPServer serves every request of a keep-alive connection with a
// fresh handler, so options set from a handler cost system calls on every
// request although they belong to the connection. A TCPServer connection
// filter sees each connection once, in the acceptor thread, before a worker
// takes it: the send timeout (server.write_timeout_seconds) and TCP_NODELAY
// are set there.
//
// Thread safety: accept() is called by the server's acceptor thread only;
// the object is immutable after construction.

#ifndef FHIRSYNC_SERVER_CONNECTION_SETUP_H_
#define FHIRSYNC_SERVER_CONNECTION_SETUP_H_

#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Timespan.h>

namespace fhirsync::server {

class ConnectionSetup : public Poco::Net::TCPServerConnectionFilter {
 public:
  explicit ConnectionSetup(int write_timeout_seconds)
      : write_timeout_(write_timeout_seconds, 0) {}

  // Sets the options on `socket`; false (Poco then closes the connection)
  // when the socket refuses them, which happens only to a connection that
  // is already gone.
  bool accept(const Poco::Net::StreamSocket& socket) override;

 private:
  const Poco::Timespan write_timeout_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_CONNECTION_SETUP_H_
