// HttpPageFetcher over Poco::Net::HTTPClientSession (see the header).

#include "fhirsync/feed/http_page_fetcher.h"

#include <mutex>

#include <Poco/CountingStream.h>
#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/net/http_transport.h"
#include "fhirsync/net/io_watchdog.h"

namespace fhirsync::feed {
namespace {

Poco::Timespan Millis(int ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms) * 1000);
}

// Exposes Poco's reconnect decision so that opened connections can be counted.
class CountingSession : public Poco::Net::HTTPClientSession {
 public:
  using Poco::Net::HTTPClientSession::HTTPClientSession;
  bool WillConnect() const { return !connected() || mustReconnect(); }
};

}  // namespace

class HttpPageFetcher::Impl {
 public:
  explicit Impl(HttpPageFetcherOptions options) : options_(std::move(options)) {
    net::HttpEndpoint parent;
    config_error_ = net::ParseHttpBaseUrl(options_.parent_url, "parent URL", &parent);
    session_ = std::make_unique<CountingSession>(parent.host, parent.port);
    session_->setTimeout(Millis(options_.connect_timeout_ms), Millis(options_.io_timeout_ms),
                         Millis(options_.io_timeout_ms));
    session_->setKeepAlive(true);
    session_->setKeepAliveTimeout(Millis(options_.keep_alive_idle_ms));
    if (!options_.bearer_token.empty()) {
      authorization_ = "Bearer " + options_.bearer_token;
    } else if (!options_.username.empty()) {
      authorization_ = net::BasicAuthorization(options_.username, options_.password);
    }
  }

  Status Fetch(const std::string& url, const ChunkSink& sink) {
    std::string label = "GET " + EscapeForMessage(url, 200);
    if (!config_error_.ok()) return config_error_.WithContext(label);
    std::string target;
    try {
      target = Poco::URI(url).getPathEtc();
    } catch (const Poco::Exception& e) {
      return InvalidArgumentError(label + ": the URL does not parse: " + e.displayText());
    }
    if (target.empty()) target = "/";

    std::lock_guard<std::mutex> lock(mu_);
    Status status;
    net::IoStop stopped = net::IoStop::kNone;
    {
      // Ends before the session is reset: the watchdog must never shut down
      // a descriptor the session has closed.
      net::IoWatch watch(session_->socket(), options_.request_deadline_ms);
      status = FetchLocked(target, sink, label);
      stopped = watch.stopped();
    }
    // Whatever the I/O reported, the deadline or a cancellation ended it.
    if (stopped != net::IoStop::kNone) {
      status = net::IoStopError(stopped, label, options_.request_deadline_ms);
    }
    if (!status.ok()) session_->reset();  // never reuse a connection in an unknown state
    return status;
  }

  std::int64_t connections_opened() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_opened_;
  }

 private:
  Status FetchLocked(const std::string& target, const ChunkSink& sink, const std::string& label) {
    if (session_->WillConnect()) ++connections_opened_;
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    request.set("Accept", "application/atom+xml");
    request.set("User-Agent", "fhirsync");
    if (options_.accept_gzip) request.set("Accept-Encoding", "gzip");
    if (!authorization_.empty()) request.set("Authorization", authorization_);
    Status sink_status;
    try {
      session_->sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& body = session_->receiveResponse(response);
      int http_status = static_cast<int>(response.getStatus());
      StatusCode code = StatusCodeForHttpStatus(http_status);
      if (code != StatusCode::kOk) {
        return Status(code, label + ": HTTP " + std::to_string(http_status) + " " +
                                response.getReason());
      }
      Poco::CountingInputStream counted(body);
      std::unique_ptr<Poco::InflatingInputStream> inflate;
      std::istream* in = &counted;
      if (response.get("Content-Encoding", "").find("gzip") != std::string::npos) {
        inflate = std::make_unique<Poco::InflatingInputStream>(
            counted, Poco::InflatingStreamBuf::STREAM_GZIP);
        in = inflate.get();
      }
      char buffer[64 * 1024];
      std::size_t total = 0;
      while (true) {
        in->read(buffer, sizeof(buffer));
        std::streamsize got = in->gcount();
        if (got > 0) {
          total += static_cast<std::size_t>(got);
          if (total > options_.max_page_bytes) {
            return ResourceExhaustedError(label + ": the page is larger than the limit of " +
                                          std::to_string(options_.max_page_bytes) + " bytes (" +
                                          kMaxAnswerBytesOption + ")");
          }
          sink_status = sink(std::string_view(buffer, static_cast<std::size_t>(got)));
          if (!sink_status.ok()) return sink_status;  // the reader's error names the page
        }
        if (!*in) break;
      }
      if (response.hasContentLength() &&
          counted.chars() < static_cast<std::streamsize>(response.getContentLength64())) {
        return UnavailableError(label + ": response cut after " + std::to_string(counted.chars()) +
                                " of " + std::to_string(response.getContentLength64()) + " bytes");
      }
      return Status::Ok();
    } catch (const Poco::TimeoutException& e) {
      return DeadlineExceededError(label + ": timed out: " + e.displayText());
    } catch (const Poco::Net::ConnectionRefusedException& e) {
      return UnavailableError(label + ": connection refused: " + e.displayText());
    } catch (const Poco::Net::NoMessageException&) {
      return UnavailableError(label + ": connection closed without an answer");
    } catch (const Poco::Exception& e) {
      return UnavailableError(label + ": " + e.displayText());
    } catch (const std::exception& e) {
      return UnavailableError(label + ": " + e.what());
    }
  }

  const HttpPageFetcherOptions options_;
  Status config_error_;
  std::string authorization_;
  mutable std::mutex mu_;
  std::unique_ptr<CountingSession> session_;
  std::int64_t connections_opened_ = 0;
};

HttpPageFetcher::HttpPageFetcher(HttpPageFetcherOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpPageFetcher::~HttpPageFetcher() = default;

Status HttpPageFetcher::Fetch(const std::string& url, const ChunkSink& sink) {
  return impl_->Fetch(url, sink);
}

std::int64_t HttpPageFetcher::connections_opened() const { return impl_->connections_opened(); }

}  // namespace fhirsync::feed
