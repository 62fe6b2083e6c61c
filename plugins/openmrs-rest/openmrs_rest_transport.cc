#include "openmrs_rest_transport.h"

#include <utility>

#include "http_plugin_settings.h"

namespace fhirsync::restplugin {
namespace {

Status Invalid(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

std::vector<std::string> SplitNames(const std::string& text) {
  std::vector<std::string> names;
  std::string current;
  for (char c : text + ",") {
    if (c == ',') {
      if (!current.empty()) names.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current += c;
    }
  }
  return names;
}

template <typename Result>
Result NotConfigured() {
  Result result;
  result.status =
      Status(StatusCode::kFailedPrecondition, "the openmrs-rest plugin is not configured");
  return result;
}

void CopyOutcome(const rest::RestResult& result, CallOutcome* outcome) {
  outcome->status = result.status;
  outcome->http_status = result.http_status;
  outcome->operation_outcome = result.error_message;
  outcome->ambiguous = result.ambiguous;
}

ReadResult ToReadResult(const std::string& type, const std::string& id,
                        rest::RestResult result) {
  ReadResult read;
  CopyOutcome(result, &read);
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
  RemoteWriteResult write;
  CopyOutcome(result, &write);
  if (result.ok()) {
    write.version = result.version;
    write.last_updated_ms = result.last_updated_ms;
  }
  return write;
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

  std::vector<std::string> types = SplitNames(plugins::OptionOr(settings, "types", "*"));
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
  options.username = http.username;
  options.password = http.password;
  options.bearer_token = http.bearer_token;
  options.connect_timeout_ms = http.connect_timeout_ms;
  options.io_timeout_ms = http.timeout_ms;
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
  caps.auth_schemes = {"none", "basic", "bearer"};
  return caps;
}

Status OpenmrsRestTransport::CheckWritable(const RemoteResource& resource) {
  if (resource.format != ResourceFormat::kOpenmrsRest) {
    return Invalid(resource.type + "/" + resource.id +
                   " is not in OpenMRS REST representation; the openmrs-rest plugin carries "
                   "only openmrs-rest");
  }
  if (resource.body.empty()) return Invalid(resource.type + "/" + resource.id + " has no body");
  return Status();
}

ReadResult OpenmrsRestTransport::Read(const std::string& type, const std::string& id) {
  if (!client_) return NotConfigured<ReadResult>();
  return ToReadResult(type, id, client_->Get(type, id, rest::Representation::kFull));
}

ReadManyResult OpenmrsRestTransport::ReadMany(const std::string& type,
                                              const std::vector<std::string>& ids) {
  if (!client_) return NotConfigured<ReadManyResult>();
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
  if (!client_) return NotConfigured<RemoteWriteResult>();
  if (Status valid = CheckWritable(resource); !valid.ok()) {
    RemoteWriteResult result;
    result.status = valid;
    return result;
  }
  return ToWriteResult(client_->Create(resource.type, resource.id, resource.body));
}

RemoteWriteResult OpenmrsRestTransport::Update(const RemoteResource& resource,
                                               const std::string& expected_version) {
  if (!client_) return NotConfigured<RemoteWriteResult>();
  if (Status valid = CheckWritable(resource); !valid.ok()) {
    RemoteWriteResult result;
    result.status = valid;
    return result;
  }
  return ToWriteResult(
      client_->Update(resource.type, resource.id, resource.body, expected_version));
}

RemoteWriteResult OpenmrsRestTransport::Delete(const std::string& type, const std::string& id,
                                               const std::string& expected_version) {
  if (!client_) return NotConfigured<RemoteWriteResult>();
  return ToWriteResult(purge_ ? client_->Purge(type, id, expected_version)
                              : client_->Void(type, id, void_reason_, expected_version));
}

}  // namespace fhirsync::restplugin
