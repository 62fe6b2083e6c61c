#include "fhirsync/node_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "fhirsync/base/text_util.h"
#include "server/connection_setup.h"
#include "server/http_adapter.h"

namespace fhirsync {
namespace {

// How long Stop() lets requests in progress finish before it cuts them off.
constexpr auto kStopGrace = std::chrono::milliseconds(1000);

}  // namespace

struct NodeServer::Impl {
  NodeConfig config;
  LocalStore* store;
  Options options;
  std::unique_ptr<server::ServerState> state;
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> http;
  std::atomic<int> port{0};
  std::string base_url;
};

NodeServer::NodeServer(const NodeConfig& config, LocalStore& store, Options options)
    : impl_(std::make_unique<Impl>()) {
  impl_->config = config;
  impl_->store = &store;
  impl_->options = std::move(options);
}

NodeServer::NodeServer(const NodeConfig& config, LocalStore& store)
    : NodeServer(config, store, Options{}) {}

NodeServer::~NodeServer() { Stop(); }

namespace {

constexpr int kKeepAliveIdleSeconds = 5;

Status CheckLimits(const ServerConfig& c) {
  auto positive = [](const char* key, long long value) -> Status {
    if (value > 0) return Status::Ok();
    return InvalidArgumentError(std::string("server.") + key + " must be positive, not " +
                                std::to_string(value));
  };
  FHIRSYNC_RETURN_IF_ERROR(positive("feed_page_size", c.feed_page_size));
  FHIRSYNC_RETURN_IF_ERROR(positive("max_request_bytes", static_cast<long long>(c.max_request_bytes)));
  FHIRSYNC_RETURN_IF_ERROR(
      positive("max_response_bytes", static_cast<long long>(c.max_response_bytes)));
  FHIRSYNC_RETURN_IF_ERROR(positive("threads", c.threads));
  FHIRSYNC_RETURN_IF_ERROR(positive("queue_size", c.queue_size));
  FHIRSYNC_RETURN_IF_ERROR(positive("read_timeout_seconds", c.read_timeout_seconds));
  FHIRSYNC_RETURN_IF_ERROR(positive("write_timeout_seconds", c.write_timeout_seconds));
  if (c.port < 0 || c.port > 65535) {
    return InvalidArgumentError("server.port " + std::to_string(c.port) +
                                " is not a port (0 to 65535)");
  }
  return Status::Ok();
}

}  // namespace

Status NodeServer::Start() {
  if (impl_->http) return FailedPreconditionError("the server is already started");
  const ServerConfig& sc = impl_->config.server;
  FHIRSYNC_RETURN_IF_ERROR(CheckLimits(sc));
  Poco::Net::SocketAddress address;
  try {
    address = Poco::Net::SocketAddress(sc.bind, static_cast<Poco::UInt16>(sc.port));
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("server.bind '" + EscapeForMessage(sc.bind) +
                                "' is not an address: " + EscapeForMessage(e.displayText()));
  }
  Poco::Net::ServerSocket socket;
  try {
    socket.bind(address, /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(sc.queue_size);
  } catch (const Poco::Exception& e) {
    return UnavailableError("cannot listen on " + address.toString() + ": " +
                            EscapeForMessage(e.displayText()));
  }
  auto log_sink = std::make_shared<server::LogSink>(impl_->options.log);
  server::Authenticator::Options auth_options;
  auth_options.reload_dir = impl_->options.reload_users_from;
  auth_options.warn = [log_sink](std::string_view line) { log_sink->Write(line); };
  auto state = std::make_unique<server::ServerState>(sc, std::move(auth_options), log_sink);
  state->access_log_format = impl_->options.access_log_format;
  state->context.store = impl_->store;
  state->context.node_id = impl_->config.node_id;
  state->context.config = sc;
  state->context.atom_renderer = impl_->options.atom_renderer;
  state->context.push_routes = impl_->options.push_routes;
  state->context.parent_node_id = impl_->options.parent_node_id;
  state->context.check_write = impl_->options.check_write;
  state->context.node_config = impl_->config;
  state->context.node_dir = impl_->options.node_dir;
  state->context.extra_metrics = impl_->options.extra_metrics;
  state->context.sync_now = impl_->options.sync_now;
  for (const std::string& type : impl_->config.pull.types) {
    state->context.declared_types.insert(type);
  }
  for (const auto& [type, plugin] : impl_->config.plugins.routes) {
    state->context.declared_types.insert(type);
  }
  const int port = socket.address().port();
  std::string host = socket.address().host().toString();
  if (socket.address().family() == Poco::Net::SocketAddress::IPv6) host = "[" + host + "]";
  state->fallback_base_url = "http://" + host + ":" + std::to_string(port);

  auto params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(sc.threads);
  params->setMaxQueued(sc.queue_size);
  params->setTimeout(Poco::Timespan(sc.read_timeout_seconds, 0));
  params->setKeepAlive(true);
  // An idle keep-alive connection holds a worker (see http_adapter.cc), so
  // it is closed after a short idle time rather than the read timeout.
  params->setKeepAliveTimeout(
      Poco::Timespan(std::min(sc.read_timeout_seconds, kKeepAliveIdleSeconds), 0));
  params->setMaxKeepAliveRequests(0);  // unlimited
  try {
    // Poco's TCPServer takes one pool thread for each connection it serves;
    // the pool is the bound on concurrent work.
    auto pool = std::make_unique<Poco::ThreadPool>(1, sc.threads);
    auto http = std::make_unique<Poco::Net::HTTPServer>(
        new server::RequestHandlerFactory(*state), *pool, socket, params);
    // The send timeout and TCP_NODELAY, once per connection.
    http->setConnectionFilter(new server::ConnectionSetup(sc.write_timeout_seconds));
    state->http = http.get();
    http->start();
    impl_->state = std::move(state);
    impl_->pool = std::move(pool);
    impl_->http = std::move(http);
  } catch (const Poco::Exception& e) {
    return UnavailableError("cannot start the HTTP server: " + EscapeForMessage(e.displayText()));
  }
  impl_->base_url = impl_->state->fallback_base_url;
  impl_->port.store(port);
  return Status::Ok();
}

int NodeServer::port() const { return impl_->port.load(); }

std::string NodeServer::base_url() const { return impl_->port.load() ? impl_->base_url : ""; }

void NodeServer::Stop() {
  if (!impl_->http) return;
  // Stop accepting; let requests in progress finish for a moment, then shut
  // down the sockets of those still going (a client that drips its request
  // or stalls reading the answer would hold a worker, and the stop, for
  // ever), and of any a kept-alive connection starts from now on; then shut
  // down the idle keep-alive connections and wait for the workers. Poco's
  // stopAll() cannot do the cutting itself: it waits for each request in
  // progress (it takes the connection's lock, also to abort). A store write
  // in progress is not affected: it commits or rolls back before its worker
  // touches the socket again.
  impl_->http->stop();  // no new connections
  impl_->state->active.WaitIdle(kStopGrace);
  impl_->state->active.CutOff();
  impl_->http->stopAll(false);  // idle keep-alive connections
  impl_->pool->joinAll();
  impl_->http.reset();
  impl_->pool.reset();
  impl_->state.reset();
  impl_->port.store(0);
}

}  // namespace fhirsync
