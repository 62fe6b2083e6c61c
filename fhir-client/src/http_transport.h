// HttpTransport: one keep-alive HTTP/1.1 connection (Poco HTTPClientSession)
// that sends a request and returns the whole answer, telling apart "never
// sent" from "sent, answer lost" (internal to fhirsync::fhir_client).
//
// Thread safety: Exchange() serialises callers with a mutex.

#ifndef FHIRSYNC_FHIR_HTTP_TRANSPORT_H_
#define FHIRSYNC_FHIR_HTTP_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync::fhir {

struct HttpTransportOptions {
  std::string host;
  std::uint16_t port = 80;
  std::string authorization;  // the full Authorization header value, or empty
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 30000;
  int keep_alive_idle_ms = 4000;
  std::size_t max_response_bytes = 64u * 1024u * 1024u;
  bool accept_gzip = true;
};

struct HttpRequestSpec {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // path and query, "/fhir/Patient/1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Type application/fhir+json when not empty
};

struct HttpAnswer {
  // OK when a complete answer arrived (whatever its HTTP status). Otherwise
  // kUnavailable, kDeadlineExceeded (timeout), kResourceExhausted (too big),
  // kDataLoss (undecodable gzip).
  Status transport;
  bool request_sent = false;  // the whole request left this process
  int status = 0;
  std::string reason;
  std::string etag;
  std::string location;
  std::string content_location;
  std::string last_modified;
  std::string body;  // decoded
};

class HttpTransport {
 public:
  explicit HttpTransport(HttpTransportOptions options);
  ~HttpTransport();

  HttpAnswer Exchange(const HttpRequestSpec& request);

  std::int64_t connections_opened() const;

 private:
  HttpAnswer ExchangeOnce(const HttpRequestSpec& request, bool& reused);

  class Session;
  const HttpTransportOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<Session> session_;
  std::int64_t connections_opened_ = 0;
};

}  // namespace fhirsync::fhir

#endif  // FHIRSYNC_FHIR_HTTP_TRANSPORT_H_
