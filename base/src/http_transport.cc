// HttpTransport over Poco::Net::HTTPClientSession (HTTPSClientSession with
// an OpenSSL context for https), and the URL and credential helpers of the
// HTTP clients.

#include "fhirsync/net/http_transport.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include <Poco/Base64Encoder.h>
#include <Poco/CountingStream.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/String.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/net/io_watchdog.h"

namespace fhirsync::net {
namespace {

Poco::Timespan Millis(int ms) { return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms) * 1000); }

bool ContainsGzip(const std::string& value) {
  return value.find("gzip") != std::string::npos;
}

// Why OpenSSL refused the peer's certificate in the last handshake on this
// thread (a handshake runs in the thread that sends the request); empty
// when it did not.
thread_local std::string tls_refusal;

int RecordVerifyError(int ok, X509_STORE_CTX* store) {
  if (ok == 0 && tls_refusal.empty()) {
    tls_refusal = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
    if (X509* cert = X509_STORE_CTX_get_current_cert(store)) {
      char subject[256];
      X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
      tls_refusal += std::string(" (certificate ") + subject + ")";
    }
  }
  return ok;
}

// The OpenSSL context of one https transport: TLS 1.2 or newer, the chain
// verified against `options.ca_file` or the system's store, the name
// against `options.host`. OpenSSL checks the name (subjectAltName, DNS or
// IP) during the handshake; Poco's own later check is off, as it ignores IP
// entries.
StatusOr<Poco::Net::Context::Ptr> MakeTlsContext(const HttpTransportOptions& options) {
  static std::once_flag initialised;
  std::call_once(initialised, [] { Poco::Net::initializeSSL(); });
  if (!options.ca_file.empty()) {
    std::ifstream readable(options.ca_file);
    if (!readable) {
      return InvalidArgumentError(std::string(kParentCaFileOption) + " '" +
                                  EscapeForMessage(options.ca_file, 200) +
                                  "' cannot be read: " + std::strerror(errno));
    }
  }
  try {
    Poco::Net::Context::Ptr context = new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", "", options.ca_file,
        Poco::Net::Context::VERIFY_STRICT, 9, /*loadDefaultCAs=*/options.ca_file.empty(),
        "DEFAULT");
    SSL_CTX* ssl = context->sslContext();
    if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1) {
      return InternalError("TLS: cannot require TLS 1.2 or newer");
    }
    context->enableExtendedCertificateVerification(false);
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ssl);
    Poco::Net::IPAddress address;
    const int named = Poco::Net::IPAddress::tryParse(options.host, address)
                          ? X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str())
                          : X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), 0);
    if (named != 1) {
      return InvalidArgumentError("TLS: cannot check certificates for the host '" +
                                  EscapeForMessage(options.host) + "'");
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, &RecordVerifyError);
    return context;
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError(
        "TLS: " +
        (options.ca_file.empty() ? std::string("the system's CA store")
                                 : std::string(kParentCaFileOption) + " '" +
                                       EscapeForMessage(options.ca_file, 200) + "'") +
        " cannot be used: " + e.displayText());
  }
}

// Decodes a gzip body piece by piece (zlib), so that neither the encoded
// nor the decoded answer is ever held whole.
class GzipDecoder {
 public:
  GzipDecoder() {
    std::memset(&stream_, 0, sizeof(stream_));
    ok_ = inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK;  // 16: gzip framing
  }
  ~GzipDecoder() { inflateEnd(&stream_); }
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;

  // Hands what `in` decodes to, in pieces, to `out`.
  template <typename Out>
  Status Decode(std::string_view in, Out&& out) {
    if (!ok_) return InternalError("zlib cannot be initialised");
    if (ended_) return Status::Ok();  // bytes after the gzip member: ignored
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream_.avail_in = static_cast<uInt>(in.size());
    char buffer[64 * 1024];
    while (stream_.avail_in > 0 && !ended_) {
      stream_.next_out = reinterpret_cast<Bytef*>(buffer);
      stream_.avail_out = sizeof(buffer);
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return DataLossError(std::string("response body is not valid gzip: ") +
                             (stream_.msg != nullptr ? stream_.msg : zError(rc)));
      }
      ended_ = rc == Z_STREAM_END;
      const std::size_t produced = sizeof(buffer) - stream_.avail_out;
      if (produced > 0) FHIRSYNC_RETURN_IF_ERROR(out(std::string_view(buffer, produced)));
      if (rc == Z_BUF_ERROR && produced == 0) break;
    }
    return Status::Ok();
  }

  // After the whole body: DataLoss when the gzip stream was cut short.
  Status Finish(bool any_input) const {
    if (any_input && !ended_) return DataLossError("response body is not valid gzip: it ends early");
    return Status::Ok();
  }

 private:
  z_stream stream_;
  bool ok_ = false;
  bool ended_ = false;
};

}  // namespace

std::string HttpAnswer::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (Poco::icompare(key, std::string(name)) == 0) return value;
  }
  return std::string();
}

// One connection: Poco's plain or TLS session, with its decision to reopen
// the connection exposed so that opened connections can be counted
// (keep-alive reuse is observable in tests).
class HttpTransport::Session {
 public:
  virtual ~Session() = default;
  virtual Poco::Net::HTTPClientSession& http() = 0;
  virtual bool WillConnect() const = 0;

  template <typename PocoSession>
  class Over;
};

template <typename PocoSession>
class HttpTransport::Session::Over final : public HttpTransport::Session, public PocoSession {
 public:
  using PocoSession::PocoSession;
  Poco::Net::HTTPClientSession& http() override { return *this; }
  bool WillConnect() const override { return !this->connected() || this->mustReconnect(); }
};

HttpTransport::HttpTransport(HttpTransportOptions options) : options_(std::move(options)) {
  if (options_.tls) {
    StatusOr<Poco::Net::Context::Ptr> context = MakeTlsContext(options_);
    if (context.ok()) {
      session_ = std::make_unique<Session::Over<Poco::Net::HTTPSClientSession>>(
          options_.host, options_.port, *context);
    } else {
      setup_error_ = context.status();
    }
  }
  if (session_ == nullptr) {
    session_ = std::make_unique<Session::Over<Poco::Net::HTTPClientSession>>(options_.host,
                                                                             options_.port);
  }
  Poco::Net::HTTPClientSession& http = session_->http();
  http.setTimeout(Millis(options_.connect_timeout_ms), Millis(options_.io_timeout_ms),
                  Millis(options_.io_timeout_ms));
  http.setKeepAlive(true);
  http.setKeepAliveTimeout(Millis(options_.keep_alive_idle_ms));
  const HttpAuth& auth = options_.auth;
  if (!auth.smart.client_id.empty()) {
    StatusOr<std::shared_ptr<SmartTokenSource>> smart = SmartTokenSource::Shared(auth.smart);
    if (smart.ok()) {
      smart_ = std::move(smart).value();
    } else if (setup_error_.ok()) {
      // Unauthenticated, not the key's InvalidArgument: a key that went
      // missing pauses pushing instead of dead-lettering every change.
      setup_error_ = UnauthenticatedError(smart.status().message());
    }
  } else if (!auth.bearer_token.empty()) {
    authorization_ = "Bearer " + auth.bearer_token;
  } else if (!auth.user.empty()) {
    authorization_ = BasicAuthorization(auth.user, auth.password);
  }
}

HttpTransport::~HttpTransport() = default;

std::int64_t HttpTransport::connections_opened() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_opened_;
}

HttpAnswer HttpTransport::Exchange(const HttpRequestSpec& request) {
  return ExchangeLocked(request, nullptr);
}

HttpAnswer HttpTransport::Exchange(const HttpRequestSpec& request, const BodySink& sink) {
  return ExchangeLocked(request, &sink);
}

HttpAnswer HttpTransport::ExchangeLocked(const HttpRequestSpec& request, const BodySink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!setup_error_.ok()) {
    HttpAnswer refused;
    refused.transport = setup_error_;
    return refused;
  }
  if (smart_ == nullptr) return ExchangeRetrying(request, sink);
  StatusOr<std::string> token = smart_->Authorization();
  if (!token.ok()) {
    HttpAnswer refused;
    refused.transport = token.status();
    return refused;
  }
  authorization_ = *token;
  HttpAnswer answer = ExchangeRetrying(request, sink);
  // A 401 was not acted on, whatever the method: the server may have
  // revoked the token before its time, so one new token is tried; a second
  // 401 goes to the caller (which pauses, as for any refused credentials).
  if (!answer.transport.ok() || answer.status != 401) return answer;
  token = smart_->Renew(authorization_);
  if (!token.ok()) {
    answer.transport = token.status();
    return answer;
  }
  authorization_ = *token;
  return ExchangeRetrying(request, sink);
}

HttpAnswer HttpTransport::ExchangeRetrying(const HttpRequestSpec& request, const BodySink* sink) {
  const Clock::time_point start = Clock::now();
  for (int busy_answers = 0;; ++busy_answers) {
    bool reused = false;
    HttpAnswer answer = ExchangeOnce(request, sink, reused);
    // A kept-alive connection the server closed while idle fails the next
    // request before any answer byte. A GET is safe to send once more on a
    // fresh connection; a write is not (the caller sees it as ambiguous).
    if (!answer.transport.ok() && reused && answer.status == 0 && request.method == "GET" &&
        answer.transport.code() == StatusCode::kUnavailable) {
      answer = ExchangeOnce(request, sink, reused);
    }
    if (busy_answers >= kMaxBusyRetries) return answer;
    std::optional<Clock::time_point> again = BusyRetryTime(answer, start, busy_answers);
    if (!again || !PauseUnlessStopped(*again)) return answer;
  }
}

std::optional<Clock::time_point> HttpTransport::BusyRetryTime(const HttpAnswer& answer,
                                                               Clock::time_point start,
                                                               int earlier) const {
  // Not 429: a parent says that to a client whose logins keep failing, and
  // asking again would only lengthen its lock-out.
  if (!answer.transport.ok() || answer.status != 503) return std::nullopt;
  // Only the delay-seconds form: an HTTP-date would need the two clocks to
  // agree, and a server shedding load names seconds.
  const std::string retry_after = answer.Header("Retry-After");
  int seconds = -1;
  const auto [end, error] =
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
  if (retry_after.empty() || error != std::errc() ||
      end != retry_after.data() + retry_after.size() || seconds < 0 ||
      seconds > kMaxBusyRetryAfterSeconds) {
    return std::nullopt;
  }
  // At least what the server asked; more after each busy answer (0.5 s
  // doubling, to 30 s), and up to half again at random, so that children
  // turned away together do not all come back in the same second.
  double wait_s = std::max(static_cast<double>(seconds),
                           std::min(0.5 * static_cast<double>(1 << std::min(earlier, 6)),
                                    static_cast<double>(kMaxBusyRetryAfterSeconds)));
  thread_local std::minstd_rand random(std::random_device{}());
  wait_s *= std::uniform_real_distribution<double>(1.0, 1.5)(random);
  const Clock::time_point again =
      Clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(wait_s * 1000));
  // Waiting counts against the request's own deadline, as its I/O does.
  if (options_.deadline_ms > 0 && again > start + std::chrono::milliseconds(options_.deadline_ms)) {
    return std::nullopt;
  }
  return again;
}

HttpAnswer HttpTransport::ExchangeOnce(const HttpRequestSpec& spec, const BodySink* sink,
                                       bool& reused) {
  HttpAnswer answer;
  reused = !session_->WillConnect();
  if (!reused) ++connections_opened_;

  Poco::Net::HTTPRequest request(spec.method, spec.target, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  request.set("Accept", options_.accept);
  if (options_.accept_gzip) request.set("Accept-Encoding", "gzip");
  request.set("User-Agent", "fhirsync");
  if (!options_.node_id.empty()) request.set("X-Fhirsync-Node-Id", options_.node_id);
  if (!authorization_.empty()) request.set("Authorization", authorization_);
  for (const auto& [name, value] : spec.headers) request.set(name, value);
  if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT") {
    request.setContentType(options_.content_type);
    request.setContentLength(static_cast<std::streamsize>(spec.body.size()));
  }

  Poco::Net::HTTPResponse response;
  Status failed;
  IoStop stopped = IoStop::kNone;
  {
    // Ends before the session is reset below: the watchdog must never
    // shut down a descriptor the session has closed (and the system may
    // have handed to someone else).
    IoWatch watch(session_->http().socket(), options_.deadline_ms);
    failed = Receive(spec, sink, request, response, answer);
    stopped = watch.stopped();
  }
  if (stopped != IoStop::kNone && !answer.sink_failed) {
    // Whatever the I/O reported, the deadline or a cancellation ended it.
    failed = IoStopError(stopped, "", options_.deadline_ms);
  }
  if (!failed.ok()) {
    answer.transport = std::move(failed);
    session_->http().reset();  // never reuse a connection in an unknown state
    return answer;
  }
  answer.etag = response.get("ETag", "");
  answer.location = response.get("Location", "");
  answer.content_location = response.get("Content-Location", "");
  answer.last_modified = response.get("Last-Modified", "");
  return answer;
}

Status HttpTransport::Receive(const HttpRequestSpec& spec, const BodySink* sink,
                              Poco::Net::HTTPRequest& request,
                              Poco::Net::HTTPResponse& response, HttpAnswer& answer) {
  tls_refusal.clear();
  Poco::Net::HTTPClientSession& session = session_->http();
  try {
    std::ostream& out = session.sendRequest(request);
    out.write(spec.body.data(), static_cast<std::streamsize>(spec.body.size()));
    // Read before flushRequest(), which destroys the stream `out` refers to.
    const bool written = static_cast<bool>(out);
    session.flushRequest();
    if (!written) return UnavailableError("sending the request failed");
    answer.request_sent = true;
    std::istream& in = session.receiveResponse(response);
    answer.status = static_cast<int>(response.getStatus());
    answer.reason = response.getReason();
    for (const auto& [name, value] : response) answer.headers.emplace_back(name, value);
    if (spec.on_head) spec.on_head(answer);

    // The decoded body goes to the sink (a 2xx answer, when there is one)
    // or into answer.body, never past max_response_bytes.
    const bool gzip = ContainsGzip(response.get("Content-Encoding", ""));
    const bool to_sink = sink != nullptr && answer.status >= 200 && answer.status <= 299;
    const char* what = gzip ? "decompressed response body" : "response body";
    std::size_t decoded = 0;
    auto deliver = [&](std::string_view piece) -> Status {
      if (piece.size() > options_.max_response_bytes - decoded) {
        return ResourceExhaustedError(std::string(what) + " is larger than the limit of " +
                                      std::to_string(options_.max_response_bytes) +
                                      " bytes (" + kMaxAnswerBytesOption + ")");
      }
      decoded += piece.size();
      if (!to_sink) {
        answer.body.append(piece);
        return Status::Ok();
      }
      Status taken = (*sink)(piece);
      if (!taken.ok()) answer.sink_failed = true;
      return taken;
    };
    GzipDecoder decoder;
    std::uint64_t raw = 0;
    char buffer[64 * 1024];
    while (true) {
      in.read(buffer, sizeof(buffer));
      const std::size_t got = static_cast<std::size_t>(in.gcount());
      if (got > 0) {
        raw += got;
        // The encoded size is bounded too: a gzip stream can be made to
        // decode to nothing for ever.
        if (gzip && raw > options_.max_response_bytes) {
          return ResourceExhaustedError("response body is larger than the limit of " +
                                        std::to_string(options_.max_response_bytes) +
                                        " bytes (" + kMaxAnswerBytesOption + ")");
        }
        const std::string_view piece(buffer, got);
        FHIRSYNC_RETURN_IF_ERROR(gzip ? decoder.Decode(piece, deliver) : deliver(piece));
      }
      if (!in) break;
    }
    if (response.hasContentLength() &&
        raw < static_cast<std::uint64_t>(response.getContentLength64())) {
      answer.status = 0;  // the answer is incomplete: do not trust its status
      return UnavailableError("response cut after " + std::to_string(raw) + " of " +
                              std::to_string(response.getContentLength64()) + " bytes");
    }
    if (gzip) return decoder.Finish(raw > 0);
    return Status::Ok();
  } catch (const Poco::Net::SSLException& e) {
    return UnavailableError(TlsFailure(e.displayText()));
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

std::string HttpTransport::TlsFailure(const std::string& error) const {
  const std::string where = "TLS with " + options_.host + ":" + std::to_string(options_.port);
  if (tls_refusal.empty()) {
    const bool old_protocol = error.find("protocol version") != std::string::npos ||
                              error.find("unsupported protocol") != std::string::npos;
    return where + " failed: " + error +
           (old_protocol ? " (the server offers nothing newer than TLS 1.1; fhirsync speaks "
                           "TLS 1.2 or newer only)"
                         : "");
  }
  return where + ": the server's certificate was refused: " + tls_refusal + "; trusted: " +
         (options_.ca_file.empty()
              ? std::string("the system's CA store (set ") + kParentCaFileOption +
                    " to the CA that signed it)"
              : "the CAs in " + std::string(kParentCaFileOption) + " '" +
                    EscapeForMessage(options_.ca_file, 200) + "'");
}

Status ParseHttpBaseUrl(std::string_view url, std::string_view what, HttpEndpoint* endpoint) {
  const std::string quoted = std::string(what) + " '" + EscapeForMessage(url) + "'";
  try {
    Poco::URI base{std::string(url)};
    if (base.getScheme() != "http" && base.getScheme() != "https") {
      return InvalidArgumentError(quoted + " is not an http:// URL (nor an https:// one)");
    }
    if (base.getHost().empty()) return InvalidArgumentError(quoted + " names no host");
    endpoint->tls = base.getScheme() == "https";
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
