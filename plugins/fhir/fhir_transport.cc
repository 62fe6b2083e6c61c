#include "fhir_transport.h"

#include <algorithm>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "capability_narrowing.h"
#include "fhir_outcome.h"
#include "fhirsync/feed/atom_change_reader.h"
#include "fhirsync/resource.h"
#include "http_plugin_settings.h"
#include "plugin_results.h"

namespace fhirsync::fhirplugin {
namespace {

Status Invalid(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

const plugins::WriteGuard kWriteGuard{"fhir", ResourceFormat::kFhirJson, "FHIR JSON",
                                      "fhir+json"};

// HTTP answers to the POST of a batch Bundle that say the Bundle as such was
// not taken (nothing in it was applied): send the writes one by one.
bool BundleRefused(const fhir::BatchWriteOutcome& outcome) {
  const int http = outcome.bundle_http_status;
  return !outcome.bundle_status.ok() && (http == 404 || http == 405 || http == 413 || http == 501);
}

}  // namespace

Status FhirTransport::Configure(const TransportSettings& settings) {
  plugins::HttpPluginSettings http;
  Status status = plugins::ParseHttpPluginSettings(settings, "/fhir", kDefaultFhirPriority, &http);
  if (!status.ok()) return status;
  priority_ = http.priority;

  fhir::FhirClientOptions options;
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

  const std::string mode = plugins::OptionOr(settings, "read_many", "auto");
  if (mode == "auto") {
    options.read_many_mode = fhir::ReadManyMode::kAuto;
  } else if (mode == "batch") {
    options.read_many_mode = fhir::ReadManyMode::kBatch;
  } else if (mode == "id-search") {
    options.read_many_mode = fhir::ReadManyMode::kIdSearch;
  } else {
    return Invalid("options.read_many: expected auto, batch or id-search, got '" +
                   mode.substr(0, 40) + "'");
  }
  int chunk = 100;
  status = plugins::ParseIntOption(settings, "read_many_chunk", 1, 1000, &chunk);
  if (!status.ok()) return status;
  options.read_many_chunk = static_cast<std::size_t>(chunk);

  std::vector<std::string> configured =
      plugins::SplitCommaList(plugins::OptionOr(settings, "types", "*"));
  if (configured.empty()) return Invalid("options.types names no resource type");
  for (const std::string& type : configured) {
    if (type == kAnyResourceType) continue;
    Status valid = ValidateResourceType(type);
    if (!valid.ok()) return Invalid("options.types: " + valid.message());
  }

  const std::string write_many = plugins::OptionOr(settings, "write_many", "auto");
  if (write_many == "auto") {
    write_many_ = WriteManyMode::kAuto;
  } else if (write_many == "batch") {
    write_many_ = WriteManyMode::kBatch;
  } else if (write_many == "single") {
    write_many_ = WriteManyMode::kSingle;
  } else {
    return Invalid("options.write_many: expected auto, batch or single, got '" +
                   write_many.substr(0, 40) + "'");
  }

  const std::string precondition = plugins::OptionOr(settings, "create_precondition", "auto");
  if (precondition == "auto") {
    create_mode_ = CreateMode::kAuto;
  } else if (precondition == "if-none-match") {
    create_mode_ = CreateMode::kIfNoneMatch;
  } else if (precondition == "read-first") {
    create_mode_ = CreateMode::kReadFirst;
  } else if (precondition == "none") {
    create_mode_ = CreateMode::kPlain;
  } else {
    return Invalid("options.create_precondition: expected auto, if-none-match, read-first or "
                   "none, got '" + precondition.substr(0, 40) + "'");
  }

  const std::string capability = plugins::OptionOr(settings, "capability_statement", "auto");
  if (capability != "auto" && capability != "require" && capability != "ignore") {
    return Invalid("options.capability_statement: expected auto, require or ignore, got '" +
                   capability.substr(0, 40) + "'");
  }
  // Nothing to decide from: a create keeps fhirsync's precondition.
  if (capability == "ignore" && create_mode_ == CreateMode::kAuto) {
    create_mode_ = CreateMode::kIfNoneMatch;
  }

  auto client = std::make_unique<fhir::FhirClient>(options);
  types_ = configured;
  narrowed_ = false;
  // The pool's read clients decide read-many the way this client does, from
  // the statement read here, instead of each asking again.
  fhir::FhirClientOptions read_options = options;
  if (capability != "ignore") {
    StatusOr<fhir::FhirCapabilities> caps = client->Capabilities();
    if (caps.ok() && read_options.read_many_mode == fhir::ReadManyMode::kAuto) {
      read_options.read_many_mode = caps->system_interactions.count("batch") != 0
                                        ? fhir::ReadManyMode::kBatch
                                        : fhir::ReadManyMode::kIdSearch;
    }
    if (caps.ok() && create_mode_ == CreateMode::kAuto) DecideCreateMode(*caps);
    if (caps.ok()) {
      types_ = NarrowTypes(configured, *caps);
      narrowed_ = true;
      if (types_.empty()) {
        return Status(StatusCode::kFailedPrecondition,
                      "the FHIR server at " + http.url +
                          " supports none of the configured types (options.types) according "
                          "to its CapabilityStatement");
      }
    } else if (capability == "require") {
      return Status(caps.status().code() == StatusCode::kInvalidArgument
                        ? StatusCode::kInvalidArgument
                        : StatusCode::kUnavailable,
                    "cannot read the CapabilityStatement of " + http.url + ": " +
                        caps.status().message());
    }
  }
  operations_ = {TransportOperation::kRead, TransportOperation::kReadMany,
                 TransportOperation::kCreate, TransportOperation::kUpdate,
                 TransportOperation::kDelete};
  // The feed is filtered by the configured types, not the narrowed list (a
  // parent lists only the types it holds today); options.feed_types widens
  // it to types whose bodies another plugin carries (a mixed FHIR/OpenMRS
  // REST node: the Atom feed lists both).
  std::vector<std::string> feed_types = configured;
  if (settings.options.count("feed_types") != 0) {
    feed_types = plugins::SplitCommaList(plugins::OptionOr(settings, "feed_types", ""));
    if (feed_types.empty()) return Invalid("options.feed_types names no resource type");
    for (const std::string& type : feed_types) {
      if (type == kAnyResourceType) continue;
      if (!ValidateResourceType(type).ok() && !ValidateRestResourceName(type).ok()) {
        return Invalid("options.feed_types: '" + type.substr(0, 80) +
                       "' is neither a FHIR type nor an OpenMRS resource name");
      }
    }
  }
  std::unique_ptr<ChangeFeed> change_feed;
  status = ChangeFeed::Create(settings, options, feed_types, &change_feed);
  if (!status.ok()) return status;
  if (change_feed) operations_.push_back(TransportOperation::kHistory);
  change_feed_ = std::move(change_feed);
  feed_kind_ = plugins::OptionOr(settings, "feed", "none");
  int export_deadline_seconds = 1800;
  status = plugins::ParseIntOption(settings, "export_deadline_seconds", 1, 7 * 86400,
                                   &export_deadline_seconds);
  if (!status.ok()) return status;
  export_client_.reset();
  // A snapshot is only of use placed in the change feed that follows it.
  if (change_feed_ && (feed_kind_ == "atom" || feed_kind_ == "fhir-history")) {
    fhir::BulkExportOptions bulk;
    bulk.client = options;
    bulk.export_deadline_ms = export_deadline_seconds * 1000;
    export_client_ = std::make_unique<fhir::BulkExportClient>(bulk);
    operations_.push_back(TransportOperation::kExport);
  }
  int read_connections = 4;
  status = plugins::ParseIntOption(settings, "read_connections", 1, 64, &read_connections);
  if (!status.ok()) return status;
  read_pool_ = std::make_unique<ReadClientPool>(read_options,
                                                static_cast<std::size_t>(read_connections));
  client_ = std::move(client);
  return Status();
}

ChangePage FhirTransport::ReadChanges(const std::string& since, int max_entries) {
  if (!change_feed_) return Unsupported<ChangePage>(TransportOperation::kHistory);
  return change_feed_->ReadChanges(since, max_entries);
}

TransportCapabilities FhirTransport::GetCapabilities() const {
  TransportCapabilities caps;
  caps.resource_types = types_;
  caps.operations = operations_;
  caps.formats = {ResourceFormat::kFhirJson};
  caps.priority = priority_;
  caps.auth_schemes = {"none", "basic", "bearer", "smart"};
  return caps;
}

ReadResult FhirTransport::Read(const std::string& type, const std::string& id) {
  if (!client_) return plugins::NotConfigured<ReadResult>(kWriteGuard.plugin);
  return ToReadResult(type, id, client_->Read(type, id));
}

ReadManyResult FhirTransport::ReadMany(const std::string& type,
                                       const std::vector<std::string>& ids) {
  if (!client_) return plugins::NotConfigured<ReadManyResult>(kWriteGuard.plugin);
  ReadManyResult many;
  StatusOr<std::vector<fhir::FhirResult>> results = read_pool_->Acquire()->ReadMany(type, ids);
  if (!results.ok()) {
    many.status = results.status();
    return many;
  }
  many.items.reserve(results->size());
  for (std::size_t i = 0; i < results->size(); ++i) {
    many.items.push_back(ToReadResult(type, ids[i], std::move((*results)[i])));
  }
  return many;
}

FhirTransport::CreateMode FhirTransport::DecideCreateMode(const fhir::FhirCapabilities& caps) {
  if (caps.software == "fhirsync") {
    create_mode_ = CreateMode::kIfNoneMatch;
    return CreateMode::kIfNoneMatch;
  }
  std::lock_guard<std::mutex> lock(create_mu_);
  update_create_ = caps.update_create;
  update_create_known_ = !caps.interactions.empty();
  create_mode_ = CreateMode::kReadFirst;
  return CreateMode::kReadFirst;
}

FhirTransport::CreateMode FhirTransport::CreateModeNow() {
  const CreateMode mode = create_mode_.load();
  if (mode != CreateMode::kAuto) return mode;
  // The statement was not read at Configure (the server was not reachable
  // then): ask now, and again next time if it still cannot be read.
  StatusOr<fhir::FhirCapabilities> caps = client_->CapabilitiesOnce();
  if (!caps.ok()) return CreateMode::kIfNoneMatch;
  return DecideCreateMode(*caps);
}

fhir::FhirResult FhirTransport::CreateAt(const RemoteResource& resource, CreateMode mode) {
  switch (mode) {
    case CreateMode::kAuto:
    case CreateMode::kIfNoneMatch:
      return client_->CreateAt(resource.type, resource.id, resource.body);
    case CreateMode::kPlain:
      return client_->Update(resource.type, resource.id, resource.body, "");
    case CreateMode::kReadFirst:
      break;
  }
  const std::string label = "PUT " + resource.type + "/" + resource.id + " (a create)";
  {
    std::lock_guard<std::mutex> lock(create_mu_);
    if (update_create_known_ && update_create_.count(resource.type) == 0) {
      fhir::FhirResult refused;
      refused.status = UnimplementedError(
          label + ": the server's CapabilityStatement does not say updateCreate for " +
          resource.type + ", so it cannot create a resource at the id this node gave it");
      return refused;
    }
  }
  // The server cannot be asked to refuse an existing id (If-None-Match is a
  // read precondition in FHIR R4), so look first: a copy already there is a
  // conflict for the push service to compare, as a fhirsync parent's 412.
  fhir::FhirResult existing = client_->Read(resource.type, resource.id);
  if (existing.ok()) {
    fhir::FhirResult conflict;
    conflict.status = AbortedError(label + ": the server already holds " + resource.type +
                                   "/" + resource.id + " (version " + existing.version_id +
                                   "), read before the create");
    return conflict;
  }
  if (existing.http_status != 404 && existing.http_status != 410) return existing;
  return client_->Update(resource.type, resource.id, resource.body, "");
}

RemoteWriteResult FhirTransport::Create(const RemoteResource& resource) {
  return kWriteGuard.Run(client_ != nullptr, resource, [&] {
    return ToWriteResult(CreateAt(resource, CreateModeNow()));
  });
}

RemoteWriteResult FhirTransport::Update(const RemoteResource& resource,
                                        const std::string& expected_version) {
  return kWriteGuard.Run(client_ != nullptr, resource, [&] {
    return ToWriteResult(
        client_->Update(resource.type, resource.id, resource.body, expected_version));
  });
}

RemoteWriteResult FhirTransport::Delete(const std::string& type, const std::string& id,
                                        const std::string& expected_version) {
  if (!client_) return plugins::NotConfigured<RemoteWriteResult>(kWriteGuard.plugin);
  return ToWriteResult(client_->Delete(type, id, expected_version));
}

bool FhirTransport::UseBatch() {
  switch (write_many_) {
    case WriteManyMode::kSingle: return false;
    case WriteManyMode::kBatch: return true;
    case WriteManyMode::kAuto: return !batch_refused_ && client_->SupportsBatch();
  }
  return false;
}

std::vector<RemoteWriteResult> FhirTransport::WriteMany(const std::vector<WriteRequest>& requests) {
  if (!client_) {
    return std::vector<RemoteWriteResult>(
        requests.size(), plugins::NotConfigured<RemoteWriteResult>(kWriteGuard.plugin));
  }
  if (requests.size() < 2 || !UseBatch()) return TransportPlugin::WriteMany(requests);
  // A batch entry cannot be read before it is written: creates to a server
  // that needs that go one by one.
  const CreateMode create_mode = CreateModeNow();
  if (create_mode == CreateMode::kReadFirst &&
      std::any_of(requests.begin(), requests.end(), [](const WriteRequest& r) {
        return r.operation == TransportOperation::kCreate;
      })) {
    return TransportPlugin::WriteMany(requests);
  }

  std::vector<RemoteWriteResult> results(requests.size());
  std::vector<fhir::BatchWrite> writes;
  std::vector<std::size_t> written_at;  // writes[k] answers requests[written_at[k]]
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const WriteRequest& request = requests[i];
    fhir::BatchWrite write;
    write.type = request.resource.type;
    write.id = request.resource.id;
    Status allowed;
    switch (request.operation) {
      case TransportOperation::kCreate:  // PUT at the client's id, only if absent
      case TransportOperation::kUpdate:
        allowed = kWriteGuard.Check(true, request.resource);
        write.body = request.resource.body;
        if (request.operation == TransportOperation::kUpdate) {
          write.expected_version = request.expected_version;
        } else {
          write.if_none_match = create_mode != CreateMode::kPlain;
        }
        break;
      case TransportOperation::kDelete:
        write.method = fhir::WriteMethod::kDelete;
        write.expected_version = request.expected_version;
        break;
      default:
        allowed = Invalid("WriteMany carries create, update and delete, not " +
                          std::string(TransportOperationName(request.operation)));
    }
    if (!allowed.ok()) {
      results[i].status = allowed;
      continue;
    }
    writes.push_back(std::move(write));
    written_at.push_back(i);
  }
  if (writes.empty()) return results;

  fhir::BatchWriteOutcome outcome = client_->WriteBatch(writes);
  if (BundleRefused(outcome)) {
    if (outcome.bundle_http_status != 413) batch_refused_ = true;
    std::vector<WriteRequest> single;
    for (std::size_t i : written_at) single.push_back(requests[i]);
    std::vector<RemoteWriteResult> answered = TransportPlugin::WriteMany(single);
    for (std::size_t k = 0; k < written_at.size(); ++k) {
      results[written_at[k]] = std::move(answered[k]);
    }
    return results;
  }
  for (std::size_t k = 0; k < written_at.size(); ++k) {
    results[written_at[k]] = ToWriteResult(outcome.entries[k]);
  }
  return results;
}

}  // namespace fhirsync::fhirplugin

namespace fhirsync::fhirplugin {

ExportResult FhirTransport::StartExport(const std::vector<std::string>& types,
                                        const std::string& job) {
  if (!export_client_) return Unsupported<ExportResult>(TransportOperation::kExport);
  fhir::BulkExportJob started = export_client_->Start(types, job);
  ExportResult result;
  result.status = started.status;
  result.http_status = started.http_status;
  result.operation_outcome = started.outcome_text;
  result.job = started.status_url;
  if (!started.status.ok()) return result;
  const BulkManifest& manifest = started.manifest;
  if (feed_kind_ == "atom") {
    // The Atom feed is fhirsync's: only its watermark places the snapshot.
    if (manifest.has_fhirsync && !manifest.fhirsync.atom_page_url.empty()) {
      result.feed_position = feed::EncodeFeedPosition(
          {manifest.fhirsync.atom_page_url, manifest.fhirsync.atom_entry_id, false});
    }
  } else {
    // _history from the export's transactionTime: the history reader's
    // one-member position (fhir::HistoryChangeReader), whose overlap window
    // reads a change at that instant again, harmlessly (idempotent by
    // version).
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("since");
    w.String(manifest.transaction_time.c_str(),
             static_cast<rapidjson::SizeType>(manifest.transaction_time.size()));
    w.EndObject();
    result.feed_position.assign(buffer.GetString(), buffer.GetSize());
  }
  result.manifest = std::move(started.manifest_text);
  return result;
}

CallOutcome FhirTransport::ReadExportFile(const std::string& url, std::int64_t from_byte,
                                          const std::function<bool(std::string_view chunk)>& sink) {
  if (!export_client_) return Unsupported<CallOutcome>(TransportOperation::kExport);
  fhir::BulkFileRead read = export_client_->ReadFile(url, from_byte, sink);
  CallOutcome outcome;
  outcome.status = read.status;
  outcome.http_status = read.http_status;
  return outcome;
}

}  // namespace fhirsync::fhirplugin
