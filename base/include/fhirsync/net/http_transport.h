// HttpTransport: one keep-alive HTTP/1.1 connection (Poco HTTPClientSession,
// or HTTPSClientSession over OpenSSL for https) that sends a request and
// returns the answer, telling apart "never sent" from "sent, answer lost".
// It is the one way fhirsync speaks to a parent: the HTTP client libraries
// (fhirsync::fhir_client, fhirsync::rest_client, the feed's page fetcher)
// add their wire formats on top, and verify, status and the parent's
// identity use it directly, so keep-alive, timeouts, auth, gzip and TLS live
// here only. Also the helpers every such client needs: parsing a base URL,
// Basic credentials, and deciding whether a failed write is ambiguous
// (architecture §5).
//
// TLS (an https:// base URL): TLS 1.2 or newer; the server's certificate
// chain is always verified, against `ca_file` (PEM) or, when that is empty,
// the system's CA store, and its name against the host the URL names (a DNS
// name or an IP address, matched against subjectAltName). A refused
// certificate fails the exchange with kUnavailable and a message naming the
// problem ("certificate has expired", "hostname mismatch", ...), so a child
// retries later and nothing is dead-lettered (docs/configuration.md,
// parent.ca_file).
//
// Thread safety: Exchange() serialises callers with a mutex; the free
// functions are pure.

#ifndef FHIRSYNC_NET_HTTP_TRANSPORT_H_
#define FHIRSYNC_NET_HTTP_TRANSPORT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhirsync/net/http_auth.h"
#include "fhirsync/status.h"

namespace Poco::Net {
class HTTPRequest;
class HTTPResponse;
}  // namespace Poco::Net

namespace fhirsync::net {

// The defaults of parent.max_answer_bytes and
// parent.request_deadline_seconds (fhirsync/config.h), the limits on what
// a child reads from its parent; the refusals name the keys.
inline constexpr std::size_t kDefaultMaxAnswerBytes = 64u * 1024u * 1024u;
inline constexpr int kDefaultRequestDeadlineMs = 300 * 1000;

struct HttpTransportOptions {
  std::string host;
  std::uint16_t port = 80;
  bool tls = false;     // https: see the file comment
  std::string ca_file;  // PEM file of trusted CAs (tls only); empty: the system's store
  // The credentials of every request (fhirsync/net/http_auth.h): Basic, a
  // bearer token, or SMART Backend Services, whose token this transport
  // asks for, sends, and after a 401 renews once and sends again.
  HttpAuth auth;
  std::string accept = "application/json";  // the Accept header of every request
  // Content-Type of request bodies (sent with POST and PUT, and any body).
  std::string content_type = "application/json; charset=utf-8";
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 30000;  // per connect, send or receive
  // The whole exchange, connecting to the last byte of the answer (see
  // io_watchdog.h); <= 0: none.
  int deadline_ms = kDefaultRequestDeadlineMs;
  int keep_alive_idle_ms = 4000;
  std::size_t max_response_bytes = kDefaultMaxAnswerBytes;  // after gzip decoding
  bool accept_gzip = true;
  // This node's id, sent as X-Fhirsync-Node-Id with every request so that
  // a parent tells its children apart (its admin page lists them by it);
  // empty: not sent.
  std::string node_id;
};

struct HttpAnswer;

struct HttpRequestSpec {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // path and query, "/fhir/Patient/1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, called with the answer's status line and headers before its
  // body is read (so a sink's owner can tell a 206 from a 200 before it
  // takes the bytes).
  std::function<void(const HttpAnswer& head)> on_head;
};

struct HttpAnswer {
  // OK when a complete answer arrived (whatever its HTTP status). Otherwise
  // kUnavailable (also: cancelled, the program is stopping),
  // kDeadlineExceeded (a receive timed out, or the whole exchange passed
  // deadline_ms), kResourceExhausted (bigger than max_response_bytes),
  // kDataLoss (undecodable gzip).
  Status transport;
  bool request_sent = false;  // the whole request left this process
  int status = 0;
  std::string reason;
  std::string etag;
  std::string location;
  std::string content_location;
  std::string last_modified;
  std::string body;  // decoded (empty when a sink took it)
  // Every header of the answer, as received.
  std::vector<std::pair<std::string, std::string>> headers;
  // The sink of Exchange(request, sink) refused a chunk: `transport` is its
  // error.
  bool sink_failed = false;

  // The value of header `name` (case-insensitive); empty when absent.
  std::string Header(std::string_view name) const;
};

// Receives a decoded answer body piece by piece (Exchange with a sink); an
// error stops the exchange.
using BodySink = std::function<Status(std::string_view chunk)>;

class HttpTransport {
 public:
  // Never fails: options that cannot work make every Exchange() fail naming
  // them: kInvalidArgument for an unreadable ca_file, kUnauthenticated for
  // a SMART key file that cannot be used.
  // With SMART auth, an Exchange() whose token cannot be had fails with the
  // token source's error (SmartTokenSource::Authorization) and sends
  // nothing.
  explicit HttpTransport(HttpTransportOptions options);
  ~HttpTransport();

  HttpAnswer Exchange(const HttpRequestSpec& request);
  // As Exchange(request), but the decoded body of a 2xx answer is handed to
  // `sink` as it arrives instead of being kept (max_response_bytes still
  // bounds it), so an answer of any size is never held whole. Other answers
  // are read into `body` as usual.
  HttpAnswer Exchange(const HttpRequestSpec& request, const BodySink& sink);

  std::int64_t connections_opened() const;

 private:
  // A server shedding load (503 with Retry-After: N seconds; a
  // fhirsync parent at its connection or queue limits answers so before
  // doing anything) is asked again after at least N seconds (longer after
  // each busy answer, with jitter), up to kMaxBusyRetries times, when
  // N <= kMaxBusyRetryAfterSeconds and the wait fits the request's
  // deadline. Any method: such an answer means the request was not acted
  // on.
  static constexpr int kMaxBusyRetries = 8;
  static constexpr int kMaxBusyRetryAfterSeconds = 30;
  // When to send again after `answer`; nullopt: do not.
  // `earlier`: how many busy answers came before this one.
  std::optional<std::chrono::steady_clock::time_point> BusyRetryTime(
      const HttpAnswer& answer, std::chrono::steady_clock::time_point start, int earlier) const;
  HttpAnswer ExchangeLocked(const HttpRequestSpec& request, const BodySink* sink);
  // ExchangeLocked's sending, with the busy retries.
  HttpAnswer ExchangeRetrying(const HttpRequestSpec& request, const BodySink* sink);
  HttpAnswer ExchangeOnce(const HttpRequestSpec& request, const BodySink* sink, bool& reused);
  // The I/O of one exchange: sends, reads the head and the body.
  Status Receive(const HttpRequestSpec& spec, const BodySink* sink,
                 Poco::Net::HTTPRequest& request, Poco::Net::HTTPResponse& response,
                 HttpAnswer& answer);
  // The message of a failed TLS handshake (or TLS I/O): why the
  // certificate was refused, when it was.
  std::string TlsFailure(const std::string& error) const;

  class Session;
  const HttpTransportOptions options_;
  Status setup_error_;
  mutable std::mutex mu_;
  std::unique_ptr<Session> session_;
  // The Authorization header of the next request (empty: none), and its
  // source when it is a SMART token.
  std::string authorization_;
  std::shared_ptr<SmartTokenSource> smart_;
  std::int64_t connections_opened_ = 0;
};

// Where a base URL points.
struct HttpEndpoint {
  std::string host;
  std::uint16_t port = 80;
  bool tls = false;  // https
  std::string base_path;  // "/fhir"; no trailing slash; empty for the root
};

// Parses an http:// or https:// base URL. InvalidArgument starting with
// `what` ("FHIR base URL 'x' ...") when it is neither, names no host or does
// not parse.
Status ParseHttpBaseUrl(std::string_view url, std::string_view what, HttpEndpoint* endpoint);

// "Basic " + base64(user:password).
std::string BasicAuthorization(std::string_view user, std::string_view password);

// True for methods that change the server (anything but GET and HEAD).
bool IsWriteMethod(std::string_view method);

// A write whose request went out but whose answer was lost (connection cut,
// timeout while waiting, response cut short, a 2xx answer too big or not
// decodable) or was replaced by a gateway's
// 502/504: the server may have applied it, so the caller must read the
// server copy back before sending again (architecture §5).
bool IsAmbiguousWrite(std::string_view method, const HttpAnswer& answer);

// The version in an entity tag: W/"3" or "3" -> "3"; empty for anything
// else.
std::string VersionFromEtag(std::string_view etag);

// The text appended to a message of an ambiguous write.
std::string AmbiguityNote(const HttpAnswer& answer);

}  // namespace fhirsync::net

#endif  // FHIRSYNC_NET_HTTP_TRANSPORT_H_
