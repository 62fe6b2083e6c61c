#include "openmrs_rest_transport.h"

#include <utility>

#include "fhirsync/resource.h"
#include "http_plugin_settings.h"
#include "plugin_results.h"

namespace fhirsync::restplugin {
namespace {

Status Invalid(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

const plugins::WriteGuard kWriteGuard{"openmrs-rest", ResourceFormat::kOpenmrsRest,
                                      "OpenMRS REST representation", "openmrs-rest"};

CallOutcome OutcomeOf(const rest::RestResult& result) {
  return plugins::OutcomeOf(result.status, result.http_status, result.error_message,
                            result.ambiguous);
}

ReadResult ToReadResult(const std::string& type, const std::string& id,
                        rest::RestResult result) {
  ReadResult read;
  static_cast<CallOutcome&>(read) = OutcomeOf(result);
  read.resource.type = type;
  read.resource.id = id;
  read.resource.format = ResourceFormat::kOpenmrsRest;
  if (!result.ok()) return read;
  read.resource.version = result.version;
  read.resource.last_updated_ms = result.last_updated_ms;
  read.resource.body = std::move(result.body);
  return read;
}

RemoteWriteResult ToWriteResult(const rest::RestResult& result) {
  return plugins::WriteResultOf(OutcomeOf(result), result.version, result.last_updated_ms);
}

// A failure that is about the call, not the one resource: ReadMany stops.
bool FailsTheWholeCall(const Status& status) {
  return !status.ok() && status.code() != StatusCode::kNotFound &&
         status.code() != StatusCode::kInvalidArgument;
}

}  // namespace

Status OpenmrsRestTransport::Configure(const TransportSettings& settings) {
  plugins::HttpPluginSettings http;
  Status status = plugins::ParseHttpPluginSettings(settings, "/ws/rest/v1", 0, &http);
  if (!status.ok()) return status;

  std::vector<std::string> types =
      plugins::SplitCommaList(plugins::OptionOr(settings, "types", "*"));
  if (types.empty()) return Invalid("options.types names no resource");
  for (const std::string& type : types) {
    if (type == kAnyResourceType) continue;
    Status valid = ValidateRestResourceName(type);
    if (!valid.ok()) return Invalid("options.types: " + valid.message());
  }
  const std::string mode = plugins::OptionOr(settings, "delete", "void");
  if (mode != "void" && mode != "purge") {
    return Invalid("options.delete: expected void or purge, got '" + mode.substr(0, 40) + "'");
  }

  rest::RestClientOptions options;
  options.base_url = http.url;
  options.username = http.auth.user;
  options.password = http.auth.password;
  options.bearer_token = http.auth.bearer_token;
  options.smart = http.auth.smart;
  options.ca_file = http.ca_file;
  options.connect_timeout_ms = http.connect_timeout_ms;
  options.io_timeout_ms = http.timeout_ms;
  options.max_response_bytes = http.max_answer_bytes;
  options.request_deadline_ms = http.request_deadline_ms;
  options.node_id = settings.node_id;
  client_ = std::make_unique<rest::OpenmrsRestClient>(options);
  types_ = std::move(types);
  priority_ = http.priority;
  purge_ = mode == "purge";
  void_reason_ = plugins::OptionOr(settings, "void_reason", "deleted on a fhirsync node");
  return Status();
}

TransportCapabilities OpenmrsRestTransport::GetCapabilities() const {
  TransportCapabilities caps;
  caps.resource_types = types_;
  caps.operations = {TransportOperation::kRead, TransportOperation::kReadMany,
                     TransportOperation::kCreate, TransportOperation::kUpdate,
                     TransportOperation::kDelete};
  caps.formats = {ResourceFormat::kOpenmrsRest};
  caps.priority = priority_;
  caps.auth_schemes = {"none", "basic", "bearer", "smart"};
  return caps;
}

ReadResult OpenmrsRestTransport::Read(const std::string& type, const std::string& id) {
  if (!client_) return plugins::NotConfigured<ReadResult>(kWriteGuard.plugin);
  return ToReadResult(type, id, client_->Get(type, id, rest::Representation::kFull));
}

ReadManyResult OpenmrsRestTransport::ReadMany(const std::string& type,
                                              const std::vector<std::string>& ids) {
  if (!client_) return plugins::NotConfigured<ReadManyResult>(kWriteGuard.plugin);
  ReadManyResult many;
  many.items.reserve(ids.size());
  for (const std::string& id : ids) {
    ReadResult item = ToReadResult(type, id, client_->Get(type, id, rest::Representation::kFull));
    if (FailsTheWholeCall(item.status)) {
      CallOutcome& outcome = many;
      outcome = item;
      many.items.clear();
      return many;
    }
    many.items.push_back(std::move(item));
  }
  return many;
}

RemoteWriteResult OpenmrsRestTransport::Create(const RemoteResource& resource) {
  return kWriteGuard.Run(client_ != nullptr, resource, [&] {
    return ToWriteResult(client_->Create(resource.type, resource.id, resource.body));
  });
}

RemoteWriteResult OpenmrsRestTransport::Update(const RemoteResource& resource,
                                               const std::string& expected_version) {
  return kWriteGuard.Run(client_ != nullptr, resource, [&] {
    return ToWriteResult(
        client_->Update(resource.type, resource.id, resource.body, expected_version));
  });
}

RemoteWriteResult OpenmrsRestTransport::Delete(const std::string& type, const std::string& id,
                                               const std::string& expected_version) {
  if (!client_) return plugins::NotConfigured<RemoteWriteResult>(kWriteGuard.plugin);
  return ToWriteResult(purge_ ? client_->Purge(type, id, expected_version)
                              : client_->Void(type, id, void_reason_, expected_version));
}

}  // namespace fhirsync::restplugin
