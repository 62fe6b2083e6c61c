// HttpTransport over Poco::Net::HTTPClientSession, and the URL and
// credential helpers of the HTTP clients.

#include "fhirsync/net/http_transport.h"

#include <sstream>

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/InflatingStream.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/net/io_watchdog.h"

namespace fhirsync::net {
namespace {

Poco::Timespan Millis(int ms) { return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms) * 1000); }

// Reads `in` to the end into `out`, failing once more than `cap` bytes came.
Status ReadCapped(std::istream& in, std::size_t cap, std::string& out, const char* what) {
  char buffer[64 * 1024];
  while (true) {
    in.read(buffer, sizeof(buffer));
    std::streamsize got = in.gcount();
    if (got > 0) {
      if (static_cast<std::size_t>(got) > cap - out.size()) {
        return ResourceExhaustedError(std::string(what) + " is larger than the limit of " +
                                      std::to_string(cap) + " bytes (" + kMaxAnswerBytesOption +
                                      ")");
      }
      out.append(buffer, static_cast<std::size_t>(got));
    }
    if (!in) break;
  }
  return Status::Ok();
}

bool ContainsGzip(const std::string& value) {
  return value.find("gzip") != std::string::npos;
}

}  // namespace

// Exposes Poco's decision to reopen the connection, so that opened
// connections can be counted (keep-alive reuse is observable in tests).
class HttpTransport::Session : public Poco::Net::HTTPClientSession {
 public:
  using Poco::Net::HTTPClientSession::HTTPClientSession;
  bool WillConnect() const { return !connected() || mustReconnect(); }
};

HttpTransport::HttpTransport(HttpTransportOptions options) : options_(std::move(options)) {
  session_ = std::make_unique<Session>(options_.host, options_.port);
  session_->setTimeout(Millis(options_.connect_timeout_ms), Millis(options_.io_timeout_ms),
                       Millis(options_.io_timeout_ms));
  session_->setKeepAlive(true);
  session_->setKeepAliveTimeout(Millis(options_.keep_alive_idle_ms));
}

HttpTransport::~HttpTransport() = default;

std::int64_t HttpTransport::connections_opened() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_opened_;
}

HttpAnswer HttpTransport::Exchange(const HttpRequestSpec& request) {
  std::lock_guard<std::mutex> lock(mu_);
  bool reused = false;
  HttpAnswer answer = ExchangeOnce(request, reused);
  // A kept-alive connection the server closed while idle fails the next
  // request before any answer byte. A GET is safe to send once more on a
  // fresh connection; a write is not (the caller sees it as ambiguous).
  if (!answer.transport.ok() && reused && answer.status == 0 && request.method == "GET" &&
      answer.transport.code() == StatusCode::kUnavailable) {
    answer = ExchangeOnce(request, reused);
  }
  return answer;
}

HttpAnswer HttpTransport::ExchangeOnce(const HttpRequestSpec& spec, bool& reused) {
  HttpAnswer answer;
  reused = !session_->WillConnect();
  if (!reused) ++connections_opened_;

  Poco::Net::HTTPRequest request(spec.method, spec.target, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  request.set("Accept", options_.accept);
  if (options_.accept_gzip) request.set("Accept-Encoding", "gzip");
  request.set("User-Agent", "fhirsync");
  if (!options_.authorization.empty()) request.set("Authorization", options_.authorization);
  for (const auto& [name, value] : spec.headers) request.set(name, value);
  if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT") {
    request.setContentType(options_.content_type);
    request.setContentLength(static_cast<std::streamsize>(spec.body.size()));
  }

  std::string raw;
  Poco::Net::HTTPResponse response;
  Status failed;
  IoStop stopped = IoStop::kNone;
  {
    // Ends before the session is reset below: the watchdog must never
    // shut down a descriptor the session has closed (and the system may
    // have handed to someone else).
    IoWatch watch(session_->socket(), options_.deadline_ms);
    failed = Receive(spec, request, response, raw, answer);
    stopped = watch.stopped();
  }
  if (stopped != IoStop::kNone) {
    // Whatever the I/O reported, the deadline or a cancellation ended it.
    failed = IoStopError(stopped, "", options_.deadline_ms);
  }
  if (!failed.ok()) {
    answer.transport = std::move(failed);
    session_->reset();  // never reuse a connection in an unknown state
    return answer;
  }
  if (response.hasContentLength() && raw.size() < static_cast<std::size_t>(
                                                      response.getContentLength64())) {
    answer.status = 0;  // the answer is incomplete: do not trust its status
    answer.transport = UnavailableError("response cut after " + std::to_string(raw.size()) +
                                        " of " + std::to_string(response.getContentLength64()) +
                                        " bytes");
    session_->reset();
    return answer;
  }
  answer.etag = response.get("ETag", "");
  answer.location = response.get("Location", "");
  answer.content_location = response.get("Content-Location", "");
  answer.last_modified = response.get("Last-Modified", "");
  if (ContainsGzip(response.get("Content-Encoding", ""))) {
    try {
      std::istringstream compressed(raw);
      Poco::InflatingInputStream inflate(compressed, Poco::InflatingStreamBuf::STREAM_GZIP);
      Status read = ReadCapped(inflate, options_.max_response_bytes, answer.body,
                               "decompressed response body");
      if (!read.ok()) {
        answer.transport = read;
        return answer;
      }
    } catch (const Poco::Exception& e) {
      answer.transport = DataLossError("response body is not valid gzip: " + e.displayText());
      return answer;
    }
  } else {
    answer.body = std::move(raw);
  }
  return answer;
}

Status HttpTransport::Receive(const HttpRequestSpec& spec, Poco::Net::HTTPRequest& request,
                              Poco::Net::HTTPResponse& response, std::string& raw,
                              HttpAnswer& answer) {
  try {
    std::ostream& out = session_->sendRequest(request);
    out.write(spec.body.data(), static_cast<std::streamsize>(spec.body.size()));
    session_->flushRequest();
    if (!out) return UnavailableError("sending the request failed");
    answer.request_sent = true;
    std::istream& in = session_->receiveResponse(response);
    answer.status = static_cast<int>(response.getStatus());
    answer.reason = response.getReason();
    return ReadCapped(in, options_.max_response_bytes, raw, "response body");
  } catch (const Poco::TimeoutException& e) {
    return DeadlineExceededError(std::string(answer.request_sent
                                                 ? "timed out waiting for the answer: "
                                                 : "timed out connecting or sending: ") +
                                 e.displayText());
  } catch (const Poco::Net::ConnectionRefusedException& e) {
    return UnavailableError("connection refused: " + e.displayText());
  } catch (const Poco::Net::NoMessageException&) {
    return UnavailableError("connection closed without an answer");
  } catch (const Poco::Exception& e) {
    return UnavailableError(e.displayText());
  } catch (const std::exception& e) {
    return UnavailableError(e.what());
  }
}

Status ParseHttpBaseUrl(std::string_view url, std::string_view what, HttpEndpoint* endpoint) {
  const std::string quoted = std::string(what) + " '" + EscapeForMessage(url) + "'";
  try {
    Poco::URI base{std::string(url)};
    if (base.getScheme() != "http") return InvalidArgumentError(quoted + " is not an http:// URL");
    if (base.getHost().empty()) return InvalidArgumentError(quoted + " names no host");
    endpoint->host = base.getHost();
    endpoint->port = base.getPort();
    endpoint->base_path = base.getPath();
    while (!endpoint->base_path.empty() && endpoint->base_path.back() == '/') {
      endpoint->base_path.pop_back();
    }
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError(quoted + " does not parse: " + e.displayText());
  }
  return Status::Ok();
}

std::string BasicAuthorization(std::string_view user, std::string_view password) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << user << ':' << password;
  encoder.close();
  return "Basic " + out.str();
}

std::string VersionFromEtag(std::string_view etag) {
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() < 2 || etag.front() != '"' || etag.back() != '"') return std::string();
  return std::string(etag.substr(1, etag.size() - 2));
}

bool IsWriteMethod(std::string_view method) { return method != "GET" && method != "HEAD"; }

bool IsAmbiguousWrite(std::string_view method, const HttpAnswer& answer) {
  if (!IsWriteMethod(method)) return false;
  // The answer broke off (cut, too big, undecodable): unless its status line
  // already said the write was refused, the server may have applied it.
  if (!answer.transport.ok()) {
    const bool refused = answer.status >= 300 && answer.status != 502 && answer.status != 504;
    return answer.request_sent && !refused;
  }
  return answer.status == 502 || answer.status == 504;
}

std::string AmbiguityNote(const HttpAnswer& answer) {
  if (!answer.transport.ok()) {
    return " (ambiguous: the request was sent but its answer was lost; the server may "
           "have applied it, read it back before sending again)";
  }
  return " (ambiguous: a gateway lost the answer; the server may have applied it)";
}

}  // namespace fhirsync::net
