#include "fhirsync/node_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "fhirsync/base/text_util.h"
#include "server/beast_listener.h"
#include "server/beast_session.h"
#include "server/request_flow.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"

namespace fhirsync {
namespace {

// How long Stop() lets requests in progress finish before it cuts them off.
constexpr auto kStopGrace = std::chrono::milliseconds(1000);

// Threads that read and write connections. They never block on a handler,
// so a couple carry thousands of connections; TLS handshakes are what they
// spend CPU on.
int IoThreads() {
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 2u));
}

}  // namespace

struct NodeServer::Impl {
  NodeConfig config;
  LocalStore* store;
  Options options;
  // Declared so that they are destroyed in the reverse order: the workers'
  // unstarted tasks hold sessions, sessions need the listener's I/O
  // context, and all of them the state.
  std::unique_ptr<server::ServerState> state;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::unique_ptr<server::SessionEnv> env;
  std::unique_ptr<server::Listener> listener;
  std::unique_ptr<server::WorkerPool> workers;
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

Status CheckLimits(const ServerConfig& c) {
  auto positive = [](const char* key, long long value) -> Status {
    if (value > 0) return Status::Ok();
    return InvalidArgumentError(std::string("server.") + key + " must be positive, not " +
                                std::to_string(value));
  };
  FHIRSYNC_RETURN_IF_ERROR(positive("feed_page_size", c.feed_page_size));
  FHIRSYNC_RETURN_IF_ERROR(positive("export_max_running", c.export_max_running));
  FHIRSYNC_RETURN_IF_ERROR(positive("export_retain_seconds", c.export_retain_seconds));
  FHIRSYNC_RETURN_IF_ERROR(positive("max_request_bytes", static_cast<long long>(c.max_request_bytes)));
  FHIRSYNC_RETURN_IF_ERROR(
      positive("max_response_bytes", static_cast<long long>(c.max_response_bytes)));
  FHIRSYNC_RETURN_IF_ERROR(positive("threads", c.threads));
  FHIRSYNC_RETURN_IF_ERROR(positive("queue_size", c.queue_size));
  FHIRSYNC_RETURN_IF_ERROR(positive("header_timeout_seconds", c.header_timeout_seconds));
  FHIRSYNC_RETURN_IF_ERROR(positive("body_timeout_seconds", c.body_timeout_seconds));
  FHIRSYNC_RETURN_IF_ERROR(positive("write_timeout_seconds", c.write_timeout_seconds));
  FHIRSYNC_RETURN_IF_ERROR(positive("max_connections_per_address", c.max_connections_per_address));
  FHIRSYNC_RETURN_IF_ERROR(positive("max_connections", c.max_connections));
  if (c.port < 0 || c.port > 65535) {
    return InvalidArgumentError("server.port " + std::to_string(c.port) +
                                " is not a port (0 to 65535)");
  }
  if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
    return InvalidArgumentError(
        "server.tls: cert_file and key_file go together (set both, or neither)");
  }
  if (!c.tls.client_ca_file.empty() && !c.tls.enabled()) {
    return InvalidArgumentError(
        "server.tls.client_ca_file needs cert_file and key_file: mutual TLS is TLS");
  }
  return Status::Ok();
}

}  // namespace

Status NodeServer::Start() {
  if (impl_->listener) return FailedPreconditionError("the server is already started");
  const ServerConfig& sc = impl_->config.server;
  FHIRSYNC_RETURN_IF_ERROR(CheckLimits(sc));
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (sc.tls.enabled()) {
    FHIRSYNC_ASSIGN_OR_RETURN(tls, server::MakeServerTlsContext(sc.tls, impl_->options.node_dir));
  }
  auto log_sink = std::make_shared<server::LogSink>(impl_->options.log);
  server::Authenticator::Options auth_options;
  auth_options.reload_dir = impl_->options.reload_users_from;
  auth_options.warn = [log_sink](std::string_view line) { log_sink->Write(line); };
  auto state = std::make_unique<server::ServerState>(sc, std::move(auth_options), log_sink);
  auto env = std::make_unique<server::SessionEnv>();
  env->state = state.get();
  env->tls = tls.get();
  env->limits = sc;
  auto listener = std::make_unique<server::Listener>(*env);
  FHIRSYNC_RETURN_IF_ERROR(listener->Open(sc.bind, sc.port));
  const boost::asio::ip::address bound = listener->endpoint().address();
  // Without TLS, Basic passwords, tokens and patient data cross the network
  // in clear: only loopback is served so unless the operator says the
  // network is trusted (or a proxy in front terminates TLS).
  if (!tls && !bound.is_loopback() && !sc.allow_plaintext) {
    return FailedPreconditionError(
        "refusing to serve plain HTTP on " + bound.to_string() +
        ", which is not a loopback address: passwords, tokens and patient data would cross the "
        "network unencrypted; set server.tls.cert_file and server.tls.key_file, or set "
        "server.allow_plaintext to true on a trusted network or behind a TLS-terminating "
        "reverse proxy (docs/deployment.md)");
  }
  state->scheme = tls ? "https" : "http";
  state->access_log_format = impl_->options.access_log_format;
  state->context.store = impl_->store;
  state->context.node_id = impl_->config.node_id;
  state->context.config = sc;
  state->context.push_routes = impl_->options.push_routes;
  state->context.parent_node_id = impl_->options.parent_node_id;
  state->context.check_write = impl_->options.check_write;
  state->context.node_config = impl_->config;
  state->context.node_dir = impl_->options.node_dir;
  state->context.extra_metrics = impl_->options.extra_metrics;
  state->context.sync_now = impl_->options.sync_now;
  if (!impl_->options.node_dir.empty()) {
    server::ExportJobs::Options exports;
    exports.dir = impl_->options.node_dir + "/exports";
    exports.max_running = sc.export_max_running;
    exports.retain_seconds = sc.export_retain_seconds;
    exports.on_progress = impl_->options.on_export_progress;
    FHIRSYNC_ASSIGN_OR_RETURN(state->context.exports,
                              server::ExportJobs::Open(*impl_->store, std::move(exports)));
  }
  for (const std::string& type : impl_->config.pull.types) {
    state->context.declared_types.insert(type);
  }
  for (const auto& [type, plugin] : impl_->config.plugins.routes) {
    state->context.declared_types.insert(type);
  }
  const int port = listener->endpoint().port();
  std::string host = bound.to_string();
  if (bound.is_v6()) host = "[" + host + "]";
  state->fallback_base_url = state->scheme + "://" + host + ":" + std::to_string(port);

  auto workers = std::make_unique<server::WorkerPool>(sc.threads, sc.queue_size);
  env->workers = workers.get();
  listener->Run(IoThreads());
  impl_->base_url = state->fallback_base_url;
  impl_->state = std::move(state);
  impl_->tls = std::move(tls);
  impl_->env = std::move(env);
  impl_->listener = std::move(listener);
  impl_->workers = std::move(workers);
  impl_->port.store(port);
  return Status::Ok();
}

int NodeServer::port() const { return impl_->port.load(); }

std::string NodeServer::base_url() const { return impl_->port.load() ? impl_->base_url : ""; }

void NodeServer::Stop() {
  if (!impl_->listener) return;
  // Stop accepting and reading new requests; let requests in progress
  // finish for a moment, then shut down the connections of those still
  // going (a client that drips its body or stalls reading the answer would
  // hold the stop for ever). A store write in progress is not affected: it
  // commits or rolls back on its worker, whose answer then finds the
  // connection shut. Idle keep-alive connections close with the I/O
  // context.
  impl_->env->stopping.store(true);
  impl_->listener->StopAccepting();
  impl_->state->active.WaitIdle(kStopGrace);
  impl_->state->active.CutOff();
  impl_->workers->Stop();
  impl_->listener->Shutdown();
  impl_->workers.reset();
  impl_->listener.reset();
  impl_->env.reset();
  impl_->tls.reset();
  impl_->state.reset();
  impl_->port.store(0);
}

}  // namespace fhirsync
