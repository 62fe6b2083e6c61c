// OpenmrsRestClient: OpenMRS REST v1 requests on top of the shared
// HttpTransport (fhirsync/net/http_transport.h, in base/) and the JSON helpers of rest_wire.h.

#include "fhirsync/rest/openmrs_rest_client.h"

#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/resource.h"
#include "fhirsync/net/http_transport.h"
#include "rest_wire.h"

namespace fhirsync::rest {
namespace {

std::string EncodeQueryValue(std::string_view value) {
  std::string out;
  Poco::URI::encode(std::string(value), "!#$&'()*+,/:;=?@[]", out);
  return out;
}

Status CheckResourceAndUuid(std::string_view resource, std::string_view uuid) {
  FHIRSYNC_RETURN_IF_ERROR(ValidateRestResourceName(resource));
  return ValidateId(uuid);
}

}  // namespace

std::string_view RepresentationName(Representation representation) {
  switch (representation) {
    case Representation::kRef: return "ref";
    case Representation::kDefault: return "default";
    case Representation::kFull: return "full";
  }
  return "full";
}

class OpenmrsRestClient::Impl {
 public:
  explicit Impl(RestClientOptions options) {
    net::HttpEndpoint endpoint;
    config_error_ = net::ParseHttpBaseUrl(options.base_url, "OpenMRS REST base URL", &endpoint);
    base_path_ = endpoint.base_path;
    net::HttpTransportOptions http;
    http.host = endpoint.host;
    http.port = endpoint.port;
    http.tls = endpoint.tls;
    http.ca_file = options.ca_file;
    http.auth = {options.username, options.password, options.bearer_token, options.smart};
    http.accept = "application/json";
    http.content_type = "application/json; charset=utf-8";
    http.connect_timeout_ms = options.connect_timeout_ms;
    http.io_timeout_ms = options.io_timeout_ms;
    http.keep_alive_idle_ms = options.keep_alive_idle_ms;
    http.max_response_bytes = options.max_response_bytes;
    http.deadline_ms = options.request_deadline_ms;
    http.accept_gzip = options.accept_gzip;
    http.node_id = options.node_id;
    transport_ = std::make_unique<net::HttpTransport>(http);
  }

  RestResult Invalid(const std::string& label, const Status& status) {
    RestResult result;
    result.status = status.WithContext(label);
    return result;
  }

  // Sends one request; `label` ("POST visittype/abc") starts every message.
  RestResult Interact(const std::string& method, const std::string& target,
                      const std::string& label, std::string body,
                      std::string_view expected_version) {
    if (!config_error_.ok()) return Invalid(label, config_error_);
    net::HttpRequestSpec request{method, target, {}, std::move(body), {}};
    if (!expected_version.empty()) {
      request.headers.emplace_back("If-Match", "W/\"" + std::string(expected_version) + "\"");
    }
    net::HttpAnswer answer = transport_->Exchange(request);
    RestResult result;
    result.http_status = answer.status;
    result.ambiguous = net::IsAmbiguousWrite(method, answer);
    if (!answer.transport.ok()) {
      std::string message = label + ": " + answer.transport.message();
      if (result.ambiguous) message += net::AmbiguityNote(answer);
      result.status = Status(answer.transport.code(), message);
      return result;
    }
    result.version = net::VersionFromEtag(answer.etag);
    result.body = std::move(answer.body);
    StatusCode code = StatusCodeForHttpStatus(answer.status);
    if (code == StatusCode::kOk) {
      result.last_updated_ms = AuditLastUpdatedMs(result.body);
      return result;
    }
    result.error_message = ErrorMessage(result.body);
    std::string message = label + ": HTTP " + std::to_string(answer.status) + " " +
                          EscapeForMessage(answer.reason);
    if (!result.error_message.empty()) message += ": " + result.error_message;
    if (result.ambiguous) message += net::AmbiguityNote(answer);
    result.status = Status(code, message);
    return result;
  }

  std::string Target(std::string_view resource, std::string_view uuid = {}) const {
    std::string target = base_path_ + "/" + std::string(resource);
    if (!uuid.empty()) target += "/" + std::string(uuid);
    return target;
  }

  static std::string Label(const char* method, std::string_view resource,
                           std::string_view uuid = {}) {
    std::string label = std::string(method) + " " + EscapeForMessage(resource, 64);
    if (!uuid.empty()) label += "/" + EscapeForMessage(uuid);
    return label;
  }

  Status CheckVersion(std::string_view expected_version) {
    if (expected_version.empty()) return Status::Ok();
    return ValidateId(expected_version).WithContext("expected version");
  }

  RestResult Get(std::string_view resource, std::string_view uuid, Representation rep) {
    std::string label = Label("GET", resource, uuid);
    if (Status valid = CheckResourceAndUuid(resource, uuid); !valid.ok()) {
      return Invalid(label, valid);
    }
    return Interact("GET", Target(resource, uuid) + "?v=" + std::string(RepresentationName(rep)),
                    label, {}, {});
  }

  RestResult Create(std::string_view resource, std::string_view uuid, std::string_view body) {
    std::string label = Label("POST", resource) + " (create " + EscapeForMessage(uuid) + ")";
    Status valid = CheckResourceAndUuid(resource, uuid);
    if (!valid.ok()) return Invalid(label, valid);
    StatusOr<std::string> with_uuid = BodyWithUuid(body, uuid);
    if (!with_uuid.ok()) return Invalid(label, with_uuid.status());
    return Interact("POST", Target(resource), label, std::move(*with_uuid), {});
  }

  RestResult Update(std::string_view resource, std::string_view uuid, std::string_view body,
                    std::string_view expected_version) {
    std::string label = Label("POST", resource, uuid);
    Status valid = CheckResourceAndUuid(resource, uuid);
    if (valid.ok()) valid = CheckVersion(expected_version);
    if (valid.ok()) valid = CheckJsonObject(body);
    if (!valid.ok()) return Invalid(label, valid);
    return Interact("POST", Target(resource, uuid), label, std::string(body), expected_version);
  }

  RestResult Delete(std::string_view resource, std::string_view uuid, std::string query,
                    std::string_view expected_version) {
    std::string label = Label("DELETE", resource, uuid) + (query.empty() ? "" : "?" + query);
    Status valid = CheckResourceAndUuid(resource, uuid);
    if (valid.ok()) valid = CheckVersion(expected_version);
    if (!valid.ok()) return Invalid(label, valid);
    std::string target = Target(resource, uuid);
    if (!query.empty()) target += "?" + query;
    return Interact("DELETE", target, label, {}, expected_version);
  }

  std::int64_t connections_opened() const { return transport_->connections_opened(); }

 private:
  Status config_error_;
  std::string base_path_;
  std::unique_ptr<net::HttpTransport> transport_;
};

OpenmrsRestClient::OpenmrsRestClient(RestClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
OpenmrsRestClient::~OpenmrsRestClient() = default;

RestResult OpenmrsRestClient::Get(std::string_view resource, std::string_view uuid,
                                  Representation representation) {
  return impl_->Get(resource, uuid, representation);
}
RestResult OpenmrsRestClient::Create(std::string_view resource, std::string_view uuid,
                                     std::string_view body) {
  return impl_->Create(resource, uuid, body);
}
RestResult OpenmrsRestClient::Update(std::string_view resource, std::string_view uuid,
                                     std::string_view body, std::string_view expected_version) {
  return impl_->Update(resource, uuid, body, expected_version);
}
RestResult OpenmrsRestClient::Void(std::string_view resource, std::string_view uuid,
                                   std::string_view reason, std::string_view expected_version) {
  return impl_->Delete(resource, uuid, reason.empty() ? "" : "reason=" + EncodeQueryValue(reason),
                       expected_version);
}
RestResult OpenmrsRestClient::Purge(std::string_view resource, std::string_view uuid,
                                    std::string_view expected_version) {
  return impl_->Delete(resource, uuid, "purge=true", expected_version);
}
std::int64_t OpenmrsRestClient::connections_opened() const { return impl_->connections_opened(); }

}  // namespace fhirsync::rest
