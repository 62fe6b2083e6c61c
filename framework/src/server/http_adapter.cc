#include "server/http_adapter.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <chrono>
#include <istream>
#include <optional>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "server/access_log.h"
#include "server/gzip.h"
#include "server/handlers.h"
#include "server/openmrs_rest_handlers.h"
#include "server/openmrs_rest_json.h"
#include "server/operation_outcome.h"
#include "server/ops_handlers.h"
#include "server/request_target.h"
#include "server/route_policy.h"
#include "server/router.h"

namespace fhirsync::server {

namespace {

bool IsSafeHost(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

// A refused body up to this size is read and dropped (see Drain).
constexpr std::size_t kMaxDrainBytes = 64u * 1024u * 1024u;

bool HasBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

class RequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RequestHandler(ServerState& state) : state_(state) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const auto arrived_at = std::chrono::system_clock::now();
    const auto arrived = std::chrono::steady_clock::now();
    HttpRequest in;
    auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
    ActiveRequests::Scope active(state_.active, impl != nullptr ? &impl->socket() : nullptr);
    HttpResponse out;
    bool body_consumed = !HasBody(request.getMethod());
    try {
      out = Process(request, &in, &body_consumed);
    } catch (const std::exception& e) {
      out = ErrorResponse(500, "exception",
                          std::string("internal error: ") + EscapeForMessage(e.what(), 200));
    }
    // OpenMRS REST clients read errors in OpenMRS's form, also those of the
    // shared steps (authentication, roles, body limits).
    if (IsOpenmrsRestTarget(request.getURI())) out = AsRestError(std::move(out));
    ObserveRequest(state_.context, in, out.status,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived).count());
    // A body left unread would be taken for the next request on this
    // connection, so such a connection is closed after the answer.
    if (!body_consumed) response.setKeepAlive(false);
    // Poco gives each connection a worker for its whole life, so an idle
    // keep-alive client holds a worker. When connections are queued for a
    // worker, hand this one back after the answer instead.
    if (state_.http != nullptr && state_.http->queuedConnections() > 0) {
      response.setKeepAlive(false);
    }
    const std::uint64_t sent = Send(request, out, response);
    if (state_.access_log_format != AccessLogFormat::kNone && state_.log->enabled()) {
      AccessRecord record;
      record.time = arrived_at;
      record.client = ClientAddress(request);
      record.user = user_;
      record.method = request.getMethod();
      record.target = request.getURI();
      record.status = out.status;
      record.bytes = sent;
      record.duration_ms = std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - arrived)
                               .count();
      state_.log->Write(FormatAccessLine(record, state_.access_log_format));
    }
  }

 private:
  HttpResponse Process(Poco::Net::HTTPServerRequest& request, HttpRequest* in_out,
                       bool* body_consumed) {
    HttpRequest& in = *in_out;
    in.method = request.getMethod();
    for (const auto& [name, value] : request) in.headers.emplace_back(name, value);
    in.base_url = request.has("Host") && IsSafeHost(request.getHost())
                      ? "http://" + request.getHost()
                      : state_.fallback_base_url;
    // Who may ask is decided on the parsed path, as the router will see it.
    const Status target = ParseRequestTarget(request.getURI(), &in);
    if (!target.ok()) in.segments.clear();
    const std::optional<Role> role = target.ok() ? RoleNeeded(in) : Role::kRead;
    if (role.has_value()) {
      Authenticator::Attempt attempt;
      auto identity = state_.authenticator.Authenticate(in.Header("Authorization"),
                                                        ClientAddress(request), &attempt);
      user_ = attempt.user;
      if (!identity.ok()) {
        // The body of an unauthenticated request is not read: the connection
        // closes after the answer instead (body_consumed stays false).
        if (attempt.retry_after_seconds > 0) {
          HttpResponse out = ErrorResponse(429, "throttled", identity.status().message());
          out.SetHeader("Retry-After", std::to_string(attempt.retry_after_seconds));
          return out;
        }
        HttpResponse out = ErrorResponse(identity.status());
        out.SetHeader("WWW-Authenticate", kWwwAuthenticate);
        return out;
      }
      in.user = identity->name;
      const Role needed = *role;
      const Status allowed = Authenticator::Authorize(*identity, needed);
      // A child's read-many is a POST of a batch Bundle of GETs: it only
      // reads, so a reader may send it. Only the body tells, so a reader's
      // POST to the Bundle endpoint is read before the decision.
      const bool read_only_bundle_check = !allowed.ok() && IsBundleEndpointPost(in) &&
                                          needed == Role::kWrite && identity->Has(Role::kRead);
      if (!allowed.ok() && !read_only_bundle_check) {
        *body_consumed = DrainRefusedBody(request);
        return ErrorResponse(allowed);
      }
      if (!target.ok()) {
        *body_consumed = DrainRefusedBody(request);
        return ErrorResponse(target);
      }
      if (HasBody(in.method)) {
        Status read = ReadBody(request, &in.body, body_consumed);
        if (!read.ok()) return ErrorResponse(read);
        if (Status text = CheckJsonText(in.body); !text.ok()) return ErrorResponse(text);
      }
      if (read_only_bundle_check && !IsReadOnlyBundle(in.body)) {
        return ErrorResponse(PermissionDeniedError(
            allowed.message() + " (a Bundle whose entries are all GET needs only the read role)"));
      }
    }
    return Dispatch(state_.context, in);
  }

  // The body of a request refused after authentication is read and dropped
  // (up to server.max_request_bytes), so that the client, still sending,
  // reads the 403 instead of a reset connection. Returns whether the
  // connection is positioned after the body.
  bool DrainRefusedBody(Poco::Net::HTTPServerRequest& request) {
    if (!HasBody(request.getMethod())) return true;
    if (request.hasContentLength() &&
        (request.getContentLength64() < 0 ||
         static_cast<std::uint64_t>(request.getContentLength64()) >
             state_.context.config.max_request_bytes)) {
      return false;
    }
    return Drain(request.stream(), 0);
  }

  // Reads and drops the rest of a refused body, so the client (which is
  // still sending) gets to read the answer instead of a reset connection.
  // Gives up past kMaxDrainBytes; the connection is closed then.
  static bool Drain(std::istream& stream, std::size_t already) {
    char buffer[16384];
    std::size_t total = already;
    while (stream && total <= kMaxDrainBytes) {
      stream.read(buffer, sizeof buffer);
      if (stream.gcount() <= 0) break;
      total += static_cast<std::size_t>(stream.gcount());
    }
    return !stream.bad() && total <= kMaxDrainBytes && stream.eof();
  }

  // Reads the body, at most server.max_request_bytes, inflating gzip.
  // `consumed` says whether the connection is positioned after the body.
  Status ReadBody(Poco::Net::HTTPServerRequest& request, std::string* body, bool* consumed) {
    const std::size_t cap = state_.context.config.max_request_bytes;
    auto over_cap = [&](const std::string& what) {
      return ResourceExhaustedError(what + " is over the request body cap of " +
                                    std::to_string(cap) + " bytes (server.max_request_bytes)");
    };
    std::istream& stream = request.stream();
    if (request.hasContentLength() && request.getContentLength64() >= 0 &&
        static_cast<std::uint64_t>(request.getContentLength64()) > cap) {
      if (static_cast<std::uint64_t>(request.getContentLength64()) <= kMaxDrainBytes) {
        *consumed = Drain(stream, 0);
      }
      return over_cap("request body of " + std::to_string(request.getContentLength64()) +
                      " bytes");
    }
    std::string raw;
    char buffer[16384];
    while (stream) {
      stream.read(buffer, sizeof buffer);
      std::streamsize n = stream.gcount();
      if (n <= 0) break;
      if (raw.size() + static_cast<std::size_t>(n) > cap) {
        *consumed = Drain(stream, raw.size() + static_cast<std::size_t>(n));
        return over_cap("request body");
      }
      raw.append(buffer, static_cast<std::size_t>(n));
    }
    *consumed = !stream.bad();
    if (stream.bad()) return InvalidArgumentError("request body could not be read completely");
    if (request.hasContentLength() &&
        static_cast<std::int64_t>(raw.size()) != request.getContentLength64()) {
      return InvalidArgumentError("request body ended after " + std::to_string(raw.size()) +
                                  " of " + std::to_string(request.getContentLength64()) +
                                  " bytes");
    }
    const std::string encoding = request.get("Content-Encoding", "identity");
    if (EqualsIgnoreCase(encoding, "gzip") || EqualsIgnoreCase(encoding, "x-gzip")) {
      FHIRSYNC_ASSIGN_OR_RETURN(*body, GzipDecompress(raw, cap));
    } else if (EqualsIgnoreCase(encoding, "identity")) {
      *body = std::move(raw);
    } else {
      return InvalidArgumentError("Content-Encoding '" + EscapeForMessage(encoding) +
                                  "' is not supported (gzip or identity)");
    }
    return Status::Ok();
  }

  static std::string ClientAddress(const Poco::Net::HTTPServerRequest& request) {
    try {
      return request.clientAddress().host().toString();
    } catch (const Poco::Exception&) {
      return "unknown";
    }
  }

  // Returns the body bytes sent.
  std::uint64_t Send(Poco::Net::HTTPServerRequest& request, const HttpResponse& out,
                     Poco::Net::HTTPServerResponse& response) {
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(out.status));
    if (!out.content_type.empty()) response.setContentType(out.content_type);
    for (const auto& [name, value] : out.headers) response.add(name, value);
    response.set("X-Fhirsync-Node-Id", state_.context.node_id);
    const std::string* body = &out.Body();
    std::string compressed;
    if (!body->empty()) {
      response.set("Vary", "Accept-Encoding");
      if (body->size() >= kMinGzipBytes && AcceptsGzip(request.get("Accept-Encoding", ""))) {
        if (out.prepared && !out.prepared->gzip.empty()) {
          body = &out.prepared->gzip;
        } else {
          compressed = GzipCompress(*body);
          body = &compressed;
        }
        response.set("Content-Encoding", "gzip");
      }
    }
    if (out.status == 204 || out.status == 304) {
      response.setContentLength(0);
      response.send();
      return 0;
    }
    response.sendBuffer(body->data(), body->size());
    return body->size();
  }

  ServerState& state_;
  std::string user_;  // who the request claimed to be, for the access log
};

}  // namespace

Poco::Net::HTTPRequestHandler* RequestHandlerFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest& request) {
  return new RequestHandler(state_);
}

}  // namespace fhirsync::server
