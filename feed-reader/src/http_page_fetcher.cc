// HttpPageFetcher over the shared net::HttpTransport (see the header).

#include "fhirsync/feed/http_page_fetcher.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/net/http_transport.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::feed {

class HttpPageFetcher::Impl {
 public:
  explicit Impl(const HttpPageFetcherOptions& options) : max_page_bytes_(options.max_page_bytes) {
    net::HttpEndpoint parent;
    config_error_ = net::ParseHttpBaseUrl(options.parent_url, "parent URL", &parent);
    net::HttpTransportOptions http;
    http.host = parent.host;
    http.port = parent.port;
    http.tls = parent.tls;
    http.ca_file = options.ca_file;
    http.auth = {options.username, options.password, options.bearer_token, options.smart};
    http.accept = "application/atom+xml";
    http.connect_timeout_ms = options.connect_timeout_ms;
    http.io_timeout_ms = options.io_timeout_ms;
    http.keep_alive_idle_ms = options.keep_alive_idle_ms;
    http.max_response_bytes = options.max_page_bytes;
    http.deadline_ms = options.request_deadline_ms;
    http.accept_gzip = options.accept_gzip;
    http.node_id = options.node_id;
    transport_ = std::make_unique<net::HttpTransport>(std::move(http));
  }

  Status Fetch(const std::string& url, const ChunkSink& sink) {
    const std::string label = "GET " + EscapeForMessage(url, 200);
    if (!config_error_.ok()) return config_error_.WithContext(label);
    net::HttpRequestSpec request;
    request.method = "GET";
    try {
      request.target = Poco::URI(url).getPathEtc();
    } catch (const Poco::Exception& e) {
      return InvalidArgumentError(label + ": the URL does not parse: " + e.displayText());
    }
    if (request.target.empty()) request.target = "/";
    net::HttpAnswer answer = transport_->Exchange(request, sink);
    if (answer.sink_failed) return answer.transport;  // the reader's error names the page
    if (!answer.transport.ok()) {
      if (answer.transport.code() == StatusCode::kResourceExhausted) {
        return ResourceExhaustedError(label + ": the page is larger than the limit of " +
                                      std::to_string(max_page_bytes_) + " bytes (" +
                                      kMaxAnswerBytesOption + ")");
      }
      return answer.transport.WithContext(label);
    }
    const StatusCode code = StatusCodeForHttpStatus(answer.status);
    if (code != StatusCode::kOk) {
      return Status(code, label + ": HTTP " + std::to_string(answer.status) + " " + answer.reason);
    }
    return Status::Ok();
  }

  std::int64_t connections_opened() const { return transport_->connections_opened(); }

 private:
  const std::size_t max_page_bytes_;
  Status config_error_;
  std::unique_ptr<net::HttpTransport> transport_;
};

HttpPageFetcher::HttpPageFetcher(HttpPageFetcherOptions options)
    : impl_(std::make_unique<Impl>(options)) {}
HttpPageFetcher::~HttpPageFetcher() = default;

Status HttpPageFetcher::Fetch(const std::string& url, const ChunkSink& sink) {
  return impl_->Fetch(url, sink);
}

std::int64_t HttpPageFetcher::connections_opened() const { return impl_->connections_opened(); }

}  // namespace fhirsync::feed
