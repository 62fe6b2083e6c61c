// The bridge between Poco's HTTP server and the handlers (internal): it
// authenticates, reads the body under the cap (un-gzipping it), dispatches,
// and writes the response (gzipping it when the client accepts gzip).

#ifndef FHIRSYNC_SERVER_HTTP_ADAPTER_H_
#define FHIRSYNC_SERVER_HTTP_ADAPTER_H_

#include <string>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>

#include "server/active_requests.h"
#include "server/auth.h"
#include "server/server_context.h"

namespace fhirsync::server {

// Bodies smaller than this are sent uncompressed: gzip would not pay for
// its header and CPU.
inline constexpr std::size_t kMinGzipBytes = 512;

struct ServerState {
  ServerContext context;
  Authenticator authenticator;
  std::string fallback_base_url;  // when a request has no usable Host
  // Set before the server starts; read to see whether connections queue.
  Poco::Net::HTTPServer* http = nullptr;
  ActiveRequests active;  // what NodeServer::Stop() cuts off when it must

  explicit ServerState(const ServerConfig& config) : authenticator(config) {}
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
