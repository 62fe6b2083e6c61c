// The bridge between Poco's HTTP server and the handlers (internal): it
// parses the target, authenticates (unless route_policy.h says the route
// needs no credentials), reads the body under the cap (un-gzipping it),
// dispatches, counts the request (ObserveRequest, ops_handlers.h) and writes
// the response (gzipping it when the client accepts gzip).

#ifndef FHIRSYNC_SERVER_HTTP_ADAPTER_H_
#define FHIRSYNC_SERVER_HTTP_ADAPTER_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>

#include "fhirsync/node_server.h"
#include "server/active_requests.h"
#include "server/auth.h"
#include "server/server_context.h"

namespace fhirsync::server {

// Bodies smaller than this are sent uncompressed: gzip would not pay for
// its header and CPU.
inline constexpr std::size_t kMinGzipBytes = 512;

// Passes lines (the access log, warnings) to one callback, one at a time,
// so lines from worker threads never interleave. Thread-safe.
class LogSink {
 public:
  explicit LogSink(std::function<void(std::string_view)> write) : write_(std::move(write)) {}
  bool enabled() const { return static_cast<bool>(write_); }
  void Write(std::string_view line) {
    if (!write_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    write_(line);
  }

 private:
  const std::function<void(std::string_view)> write_;
  std::mutex mutex_;
};

struct ServerState {
  ServerContext context;
  Authenticator authenticator;
  std::string fallback_base_url;  // when a request has no usable Host
  // Set before the server starts; read to see whether connections queue.
  Poco::Net::HTTPServer* http = nullptr;
  AccessLogFormat access_log_format = AccessLogFormat::kNone;
  std::shared_ptr<LogSink> log;  // never null
  ActiveRequests active;  // what NodeServer::Stop() cuts off when it must

  ServerState(const ServerConfig& config, Authenticator::Options auth_options,
              std::shared_ptr<LogSink> log_sink)
      : authenticator(config, std::move(auth_options)), log(std::move(log_sink)) {}
};

class RequestHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit RequestHandlerFactory(ServerState& state) : state_(state) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override;

 private:
  ServerState& state_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_HTTP_ADAPTER_H_
