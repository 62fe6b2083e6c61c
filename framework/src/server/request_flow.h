// The steps between a request head read off a connection and the handlers
// (internal), whatever carries the bytes (beast_session.h does):
//   Begin()    parses the target, authenticates (unless route_policy.h says
//              the route needs no credentials) and authorises; answers at
//              once, or asks for the body;
//   Complete() takes the body (read under server.max_request_bytes),
//              un-gzips and checks it, and dispatches;
//   Respond()  turns a handler's answer into the bytes to send (OpenMRS
//              error form under /ws/rest/, gzip when the client accepts it)
//              and counts the request (ObserveRequest, ops_handlers.h);
//   Log()      writes the access log line once the answer is sent.
// Begin() and Complete() may block (password checks, the store), so they
// run on a worker; Respond() compresses, so it runs there too, except for
// the I/O layer's own small refusals.
//
// Thread safety: a RequestFlow is used by one thread at a time; ServerState
// is shared by all and thread-safe.

#ifndef FHIRSYNC_SERVER_REQUEST_FLOW_H_
#define FHIRSYNC_SERVER_REQUEST_FLOW_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhirsync/node_server.h"
#include "server/active_requests.h"
#include "server/auth.h"
#include "server/http_types.h"
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
  std::string scheme = "http";    // "https" with TLS
  std::string fallback_base_url;  // when a request has no usable Host
  AccessLogFormat access_log_format = AccessLogFormat::kNone;
  std::shared_ptr<LogSink> log;  // never null
  ActiveRequests active;  // what NodeServer::Stop() cuts off when it must

  ServerState(const ServerConfig& config, Authenticator::Options auth_options,
              std::shared_ptr<LogSink> log_sink)
      : authenticator(config, std::move(auth_options)), log(std::move(log_sink)) {}
};

// A request head as read off the connection.
struct RequestHead {
  std::string method;
  std::string target;  // as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string client_address;
  // The subject CN of the client's verified TLS certificate; empty without.
  std::string certificate_name;
};

// An answer ready to write: the body is encoded (gzip or not); `length` is
// the Content-Length to declare (the body's size, but a HEAD answer's body
// is empty).
struct Answer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::uint64_t length = 0;
  // Set: the body is this file from file_offset on (`length` bytes),
  // streamed by the I/O layer (HttpResponse::file_path); `body` is empty.
  std::string file_path;
  std::uint64_t file_offset = 0;
};

class RequestFlow {
 public:
  RequestFlow(ServerState& state, RequestHead head);

  // The answer when it is decided without the body; nullopt: the body is
  // needed, read it and call Complete() (or BodyFailed()).
  std::optional<HttpResponse> Begin();

  // Dispatches the request with `raw_body` (as sent, at most
  // server.max_request_bytes).
  HttpResponse Complete(std::string raw_body);

  // The answer when the body could not be read: over the cap (`declared` is
  // its Content-Length, if it had one), or not complete in time.
  HttpResponse BodyTooLarge(std::optional<std::uint64_t> declared) const;
  HttpResponse BodyTooSlow() const;

  // The bytes to send for `out`.
  Answer Respond(HttpResponse out);

  // The access log line for the answer, once sent (`bytes`: body bytes).
  void Log(int status, std::uint64_t bytes) const;

  const RequestHead& head() const { return head_; }

 private:
  ServerState& state_;
  const RequestHead head_;
  const std::chrono::system_clock::time_point arrived_at_;
  const std::chrono::steady_clock::time_point arrived_;
  HttpRequest in_;
  std::string user_;  // who the request claimed to be, for the access log
  bool read_only_bundle_check_ = false;
  std::string refusal_;  // why a read-only Bundle check could refuse
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_REQUEST_FLOW_H_
