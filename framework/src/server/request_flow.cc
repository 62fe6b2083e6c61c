#include "server/request_flow.h"

#include <chrono>
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

bool IsSafeHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

bool HasBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

RequestFlow::RequestFlow(ServerState& state, RequestHead head)
    : state_(state),
      head_(std::move(head)),
      arrived_at_(std::chrono::system_clock::now()),
      arrived_(std::chrono::steady_clock::now()) {
  in_.method = head_.method;
  in_.headers = head_.headers;
  const std::string* host = in_.Header("Host");
  in_.base_url = host != nullptr && IsSafeHost(*host) ? state_.scheme + "://" + *host
                                                      : state_.fallback_base_url;
}

std::optional<HttpResponse> RequestFlow::Begin() {
  try {
    // Who may ask is decided on the parsed path, as the router will see it.
    const Status target = ParseRequestTarget(head_.target, &in_);
    if (!target.ok()) in_.segments.clear();
    const std::optional<Role> role = target.ok() ? RoleNeeded(in_) : Role::kRead;
    if (!role.has_value()) return Dispatch(state_.context, in_);
    Authenticator::Attempt attempt;
    auto identity = state_.authenticator.Authenticate(in_.Header("Authorization"),
                                                      head_.client_address, &attempt,
                                                      head_.certificate_name);
    user_ = attempt.user;
    if (!identity.ok()) {
      // The body of an unauthenticated request is not read: the connection
      // closes after the answer instead.
      if (attempt.retry_after_seconds > 0) {
        HttpResponse out = ErrorResponse(429, "throttled", identity.status().message());
        out.SetHeader("Retry-After", std::to_string(attempt.retry_after_seconds));
        return out;
      }
      HttpResponse out = ErrorResponse(identity.status());
      out.SetHeader("WWW-Authenticate", kWwwAuthenticate);
      return out;
    }
    in_.user = identity->name;
    const Role needed = *role;
    const Status allowed = Authenticator::Authorize(*identity, needed);
    // A child's read-many is a POST of a batch Bundle of GETs: it only
    // reads, so a reader may send it. Only the body tells, so a reader's
    // POST to the Bundle endpoint is read before the decision.
    read_only_bundle_check_ = !allowed.ok() && IsBundleEndpointPost(in_) &&
                              needed == Role::kWrite && identity->Has(Role::kRead);
    if (!allowed.ok() && !read_only_bundle_check_) return ErrorResponse(allowed);
    refusal_ = allowed.message();
    if (!target.ok()) return ErrorResponse(target);
    if (HasBody(in_.method)) return std::nullopt;
    return Dispatch(state_.context, in_);
  } catch (const std::exception& e) {
    return ErrorResponse(500, "exception",
                         std::string("internal error: ") + EscapeForMessage(e.what(), 200));
  }
}

HttpResponse RequestFlow::Complete(std::string raw_body) {
  try {
    const std::size_t cap = state_.context.config.max_request_bytes;
    const std::string* encoding = in_.Header("Content-Encoding");
    const std::string coding = encoding == nullptr ? "identity" : *encoding;
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      StatusOr<std::string> body = GzipDecompress(raw_body, cap);
      if (!body.ok()) return ErrorResponse(body.status());
      in_.body = std::move(body).value();
    } else if (EqualsIgnoreCase(coding, "identity")) {
      in_.body = std::move(raw_body);
    } else {
      return ErrorResponse(InvalidArgumentError("Content-Encoding '" + EscapeForMessage(coding) +
                                                "' is not supported (gzip or identity)"));
    }
    if (Status text = CheckJsonText(in_.body); !text.ok()) return ErrorResponse(text);
    if (read_only_bundle_check_ && !IsReadOnlyBundle(in_.body)) {
      return ErrorResponse(PermissionDeniedError(
          refusal_ + " (a Bundle whose entries are all GET needs only the read role)"));
    }
    return Dispatch(state_.context, in_);
  } catch (const std::exception& e) {
    return ErrorResponse(500, "exception",
                         std::string("internal error: ") + EscapeForMessage(e.what(), 200));
  }
}

HttpResponse RequestFlow::BodyTooLarge(std::optional<std::uint64_t> declared) const {
  const std::size_t cap = state_.context.config.max_request_bytes;
  const std::string what =
      declared ? "request body of " + std::to_string(*declared) + " bytes" : "request body";
  return ErrorResponse(ResourceExhaustedError(what + " is over the request body cap of " +
                                              std::to_string(cap) +
                                              " bytes (server.max_request_bytes)"));
}

HttpResponse RequestFlow::BodyTooSlow() const {
  return ErrorResponse(408, "timeout",
                       "the request body did not arrive within " +
                           std::to_string(state_.context.config.body_timeout_seconds) +
                           " s of its head (server.body_timeout_seconds)");
}

Answer RequestFlow::Respond(HttpResponse out) {
  // OpenMRS REST clients read errors in OpenMRS's form, also those of the
  // shared steps (authentication, roles, body limits).
  if (IsOpenmrsRestTarget(head_.target)) out = AsRestError(std::move(out));
  ObserveRequest(state_.context, in_, out.status,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived_).count());
  Answer answer;
  answer.status = out.status;
  answer.headers = std::move(out.headers);
  if (!out.content_type.empty()) answer.headers.emplace_back("Content-Type", out.content_type);
  answer.headers.emplace_back("X-Fhirsync-Node-Id", state_.context.node_id);
  if (out.status == 204 || out.status == 304) return answer;
  if (!out.file_path.empty()) {
    answer.length = out.file_length;
    if (head_.method != "HEAD") {
      answer.file_path = std::move(out.file_path);
      answer.file_offset = out.file_offset;
    }
    return answer;
  }
  const std::string* body = &out.Body();
  if (!body->empty()) {
    answer.headers.emplace_back("Vary", "Accept-Encoding");
    const std::string* accept = in_.Header("Accept-Encoding");
    if (body->size() >= kMinGzipBytes && accept != nullptr && AcceptsGzip(*accept)) {
      answer.headers.emplace_back("Content-Encoding", "gzip");
      if (out.prepared && !out.prepared->gzip.empty()) {
        body = &out.prepared->gzip;
      } else {
        answer.body = GzipCompress(*body);
        body = nullptr;
      }
    }
  }
  if (body != nullptr) answer.body = out.prepared ? *body : std::move(out.body);
  answer.length = answer.body.size();
  if (head_.method == "HEAD") answer.body.clear();
  return answer;
}

void RequestFlow::Log(int status, std::uint64_t bytes) const {
  if (state_.access_log_format == AccessLogFormat::kNone || !state_.log->enabled()) return;
  AccessRecord record;
  record.time = arrived_at_;
  record.client = head_.client_address;
  record.user = user_;
  record.method = head_.method;
  record.target = head_.target;
  record.status = status;
  record.bytes = bytes;
  record.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - arrived_)
          .count();
  state_.log->Write(FormatAccessLine(record, state_.access_log_format));
}

}  // namespace fhirsync::server
