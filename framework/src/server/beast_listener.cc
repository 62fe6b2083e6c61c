#include "server/beast_listener.h"

#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "fhirsync/base/text_util.h"

namespace fhirsync::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Listener::Listener(SessionEnv& env)
    : env_(env),
      limits_(env.limits.max_connections_per_address, env.limits.max_connections),
      acceptor_(io_),
      retry_(io_) {}

Listener::~Listener() { Shutdown(); }

Status Listener::Open(const std::string& bind, int port) {
  boost::system::error_code error;
  tcp::resolver resolver(io_);
  auto results = resolver.resolve(bind, std::to_string(port),
                                  tcp::resolver::passive,
                                  error);
  if (error || results.empty()) {
    return InvalidArgumentError("server.bind '" + EscapeForMessage(bind) +
                                "' is not an address: " +
                                EscapeForMessage(error ? error.message() : "no address"));
  }
  const tcp::endpoint wanted = results.begin()->endpoint();
  auto fail = [&](const char* step) {
    std::string where = wanted.address().to_string();
    if (wanted.address().is_v6()) where = "[" + where + "]";
    return UnavailableError("cannot listen on " + where + ":" + std::to_string(port) + ": " +
                            step + ": " + EscapeForMessage(error.message()));
  };
  acceptor_.open(wanted.protocol(), error);
  if (error) return fail("open");
  acceptor_.set_option(tcp::acceptor::reuse_address(true), error);
  if (error) return fail("SO_REUSEADDR");
  acceptor_.bind(wanted, error);
  if (error) return fail("bind");
  // The kernel's accept queue as long as the system allows: a burst of
  // connections (a district's tablets at once) must wait for the accept
  // loop, not lose their SYNs and retry a second later. What the server
  // holds is bounded by the connection limits, not by this.
  acceptor_.listen(net::socket_base::max_listen_connections, error);
  if (error) return fail("listen");
  endpoint_ = acceptor_.local_endpoint(error);
  if (error) return fail("getsockname");
  return Status::Ok();
}

void Listener::Run(int threads) {
  Accept();
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
}

void Listener::Accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](boost::system::error_code error,
                                                       tcp::socket socket) {
    if (error == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (error) {
      // Out of descriptors, most likely: the connections waiting in the
      // backlog are taken once some close.
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([this](boost::system::error_code ec) {
        if (!ec) Accept();
      });
      return;
    }
    std::string refusal;
    boost::system::error_code peer_error;
    const tcp::endpoint peer = socket.remote_endpoint(peer_error);
    std::unique_ptr<ConnectionLimits::Lease> lease;
    if (!peer_error) lease = limits_.TryAcquire(peer.address().to_string(), &refusal);
    if (!peer_error) StartSession(env_, std::move(socket), std::move(lease), std::move(refusal));
    Accept();
  });
}

void Listener::StopAccepting() {
  net::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  });
}

void Listener::Shutdown() {
  if (!io_.stopped()) io_.stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace fhirsync::server
