#include "server/connection_setup.h"

#include <Poco/Exception.h>

namespace fhirsync::server {

bool ConnectionSetup::accept(const Poco::Net::StreamSocket& socket) {
  // A copy shares the connection's socket (Poco sockets are handles).
  Poco::Net::StreamSocket connection(socket);
  try {
    // A client that stops reading must not hold a worker for ever.
    connection.setSendTimeout(write_timeout_);
    // Poco writes a long body (a feed page) in 4 KiB pieces; with Nagle's
    // algorithm each piece after the first may wait for the client's ACK of
    // the ones before. An answer is complete when written, so send at once.
    // (Poco's TCPServer sets this too; it is set here so that the server
    // does not depend on that.)
    connection.setNoDelay(true);
  } catch (const Poco::Exception&) {
    return false;
  }
  return true;
}

}  // namespace fhirsync::server
