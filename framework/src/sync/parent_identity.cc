#include "fhirsync/parent_identity.h"

#include <Poco/String.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/net/http_transport.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/resource.h"

namespace fhirsync {

StatusOr<std::string> FetchParentNodeId(const ParentEndpoint& parent) {
  const std::string label = "asking the parent at " + EscapeForMessage(parent.url, 200) +
                            " for its node id";
  net::HttpEndpoint endpoint;
  if (Status parsed = net::ParseHttpBaseUrl(parent.url, "the URL", &endpoint); !parsed.ok()) {
    return parsed.WithContext(label);
  }
  net::HttpTransportOptions options;
  options.host = endpoint.host;
  options.port = endpoint.port;
  options.tls = endpoint.tls;
  options.ca_file = parent.ca_file;
  options.auth = parent.auth;
  options.accept = "application/fhir+json";
  options.connect_timeout_ms = parent.timeout_ms;
  options.io_timeout_ms = parent.timeout_ms;
  options.deadline_ms = parent.deadline_ms;
  options.max_response_bytes = parent.max_answer_bytes;
  options.node_id = parent.own_node_id;
  net::HttpTransport transport(std::move(options));
  // Only the header matters; the body is read (to its end, within the cap)
  // and dropped.
  net::HttpRequestSpec request;
  request.method = "GET";
  request.target = endpoint.base_path + "/fhir/metadata";
  net::HttpAnswer answer =
      transport.Exchange(request, [](std::string_view) { return Status::Ok(); });
  if (!answer.transport.ok()) return answer.transport.WithContext(label);
  if (answer.status < 200 || answer.status > 299) {
    return Status(StatusCodeForHttpStatus(answer.status),
                  label + ": HTTP " + std::to_string(answer.status) + " " + answer.reason);
  }
  const std::string node_id = answer.Header("X-Fhirsync-Node-Id");
  if (node_id.empty()) {
    return FailedPreconditionError(label + ": it answered without an X-Fhirsync-Node-Id "
                                           "header, so it is not a fhirsync node; set "
                                           "parent.node_id in fhirsync.json by hand");
  }
  if (Status valid = ValidateId(node_id); !valid.ok()) {
    return FailedPreconditionError(label + ": it names itself '" +
                                   EscapeForMessage(node_id, 80) + "': " + valid.message());
  }
  return node_id;
}

ParentEndpoint ParentEndpointFor(const NodeConfig& config, const TransportSettings& settings) {
  ParentEndpoint endpoint;
  endpoint.url = config.parent.url;
  // Checked when the settings were made (TransportSettingsFor); an error
  // here would fail every request to the parent anyway.
  endpoint.auth = net::HttpAuthFor(settings, endpoint.timeout_ms,
                                   config.parent.request_deadline_seconds * 1000)
                      .value_or(net::HttpAuth{});
  if (auto ca = settings.options.find(kParentCaFileOption); ca != settings.options.end()) {
    endpoint.ca_file = ca->second;
  }
  endpoint.deadline_ms = config.parent.request_deadline_seconds * 1000;
  endpoint.max_answer_bytes = config.parent.max_answer_bytes;
  endpoint.own_node_id = config.node_id;
  return endpoint;
}

bool ParentSpeaksHttp(std::string_view parent_url) {
  // Schemes are case-insensitive (RFC 3986 section 3.1).
  auto starts_with = [&](std::string_view scheme) {
    return parent_url.size() >= scheme.size() &&
           Poco::icompare(std::string(parent_url.substr(0, scheme.size())),
                          std::string(scheme)) == 0;
  };
  return starts_with("http://") || starts_with("https://");
}

StatusOr<std::string> ConfiguredParentNodeId(const NodeConfig& config) {
  if (!config.parent.node_id.empty()) return config.parent.node_id;
  return FailedPreconditionError(
      "the parent at " + EscapeForMessage(config.parent.url, 200) +
      " is reached only through plugins, which cannot say which node it is; set its node id "
      "by hand: fhirsync config set parent.node_id ID");
}

}  // namespace fhirsync
