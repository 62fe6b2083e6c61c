#include "fhirsync/parent_identity.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>

#include <cctype>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/net/http_transport.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/resource.h"

namespace fhirsync {

StatusOr<std::string> FetchParentNodeId(const ParentEndpoint& parent) {
  const std::string base = parent.fhir_base.empty() ? parent.url + "/fhir" : parent.fhir_base;
  const std::string label = "asking the parent at " + EscapeForMessage(base, 200) +
                            " for its node id";
  net::HttpEndpoint endpoint;
  if (Status parsed = net::ParseHttpBaseUrl(base, "the URL", &endpoint); !parsed.ok()) {
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
  request.target = endpoint.base_path + "/metadata";
  net::HttpAnswer answer =
      transport.Exchange(request, [](std::string_view) { return Status::Ok(); });
  if (!answer.transport.ok()) return answer.transport.WithContext(label);
  if (answer.status < 200 || answer.status > 299) {
    return Status(StatusCodeForHttpStatus(answer.status),
                  label + ": HTTP " + std::to_string(answer.status) + " " + answer.reason);
  }
  const std::string node_id = answer.Header("X-Fhirsync-Node-Id");
  if (node_id.empty()) return std::string();  // not fhirsync: ResolveParentNodeId decides
  if (Status valid = ValidateId(node_id); !valid.ok()) {
    return FailedPreconditionError(label + ": it names itself '" +
                                   EscapeForMessage(node_id, 80) + "': " + valid.message());
  }
  return node_id;
}

ParentEndpoint ParentEndpointFor(const NodeConfig& config, const TransportSettings& settings) {
  ParentEndpoint endpoint;
  endpoint.url = config.parent.url;
  endpoint.fhir_base = ParentFhirBase(config);
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

std::string ParentFhirBase(const NodeConfig& config) {
  std::string base = config.parent.url;
  std::string path = "/fhir";
  for (const PluginSpec& plugin : config.plugins.load) {
    if (plugin.name != "fhir") continue;
    if (auto url = plugin.options.find("url"); url != plugin.options.end() && !url->second.empty()) {
      base = url->second;
      path.clear();
    } else if (auto p = plugin.options.find("path"); p != plugin.options.end()) {
      path = p->second;
      if (!path.empty() && path.front() != '/') path = "/" + path;
    }
    break;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  base += path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string DerivedParentNodeId(std::string_view fhir_base) {
  constexpr std::size_t kMaxId = 64;  // FHIR's limit on an id
  std::string_view rest = fhir_base;
  if (std::size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
  }
  std::string id;
  for (char c : rest) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.';
    if (keep) {
      id += c;
    } else if (!id.empty() && id.back() != '-') {
      id += '-';
    }
  }
  while (!id.empty() && id.back() == '-') id.pop_back();
  if (id.empty()) id = "fhir-server";
  if (id.size() > kMaxId) {
    Poco::SHA1Engine sha1;
    sha1.update(fhir_base.data(), static_cast<unsigned>(fhir_base.size()));
    const std::string hash = Poco::DigestEngine::digestToHex(sha1.digest()).substr(0, 12);
    id = id.substr(0, kMaxId - hash.size() - 1) + "-" + hash;
  }
  return id;
}

StatusOr<std::string> ResolveParentNodeId(const NodeConfig& config, const std::string& reported,
                                          bool* learnt) {
  *learnt = false;
  const std::string& configured = config.parent.node_id;
  if (!reported.empty()) {
    if (configured.empty()) {
      *learnt = true;
      return reported;
    }
    if (reported != configured) {
      return FailedPreconditionError(
          "the parent at " + EscapeForMessage(config.parent.url, 200) + " is node '" +
          EscapeForMessage(reported, 80) + "', but this node follows '" +
          EscapeForMessage(configured, 80) +
          "' (parent.node_id); if the parent was really replaced, edit parent.node_id");
    }
    return configured;
  }
  // A FHIR server that is not fhirsync: the id set by hand (init
  // --parent-node-id, or config set), else one derived from its address once.
  if (!configured.empty()) return configured;
  *learnt = true;
  return DerivedParentNodeId(ParentFhirBase(config));
}

}  // namespace fhirsync
