// One connection of the server (internal), over Boost.Beast: it reads
// request heads and bodies asynchronously on the I/O threads, under the
// deadlines of server.header_timeout_seconds and server.body_timeout_seconds,
// runs each request's blocking steps (request_flow.h) on the worker pool,
// and writes the answer asynchronously, cutting a client that stalls
// reading it for server.write_timeout_seconds. Keep-alive connections loop
// back to reading the next head. An idle or slow connection therefore costs
// a socket and a few buffers, never a worker.
//
// A connection that arrives past a connection limit is answered 503 with
// Retry-After naming the limit, and closed; a request that finds every
// worker busy and the queue (server.queue_size) full is answered 503 with
// Retry-After. When the connection closes after an answer with parts of the
// request unread, it closes its sending side first and reads what the client
// still sends (up to the body deadline; 2 s for a connection past a limit),
// so that the client reads the answer rather than a reset.
//
// Thread safety: a session runs on its own strand; the environment is shared
// by all sessions and must outlive them.

#ifndef FHIRSYNC_SERVER_BEAST_SESSION_H_
#define FHIRSYNC_SERVER_BEAST_SESSION_H_

#include <atomic>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "fhirsync/config.h"
#include "server/connection_limits.h"
#include "server/request_flow.h"
#include "server/worker_pool.h"

namespace fhirsync::server {

// What every session of one server shares.
struct SessionEnv {
  ServerState* state = nullptr;
  WorkerPool* workers = nullptr;
  boost::asio::ssl::context* tls = nullptr;  // null: plain HTTP
  ServerConfig limits;                       // the timeouts and caps
  std::atomic<bool> stopping{false};         // no new requests are read
};

// Serves `socket` until it closes. `lease` holds its place under the
// connection limits; when null, `refusal` says which limit it is past, and
// the connection is answered 503 and closed.
void StartSession(SessionEnv& env, boost::asio::ip::tcp::socket socket,
                  std::unique_ptr<ConnectionLimits::Lease> lease, std::string refusal);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_BEAST_SESSION_H_
