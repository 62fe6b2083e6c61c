// FHIR JSON wire format with RapidJSON.

#include "fhir_wire.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/net/http_transport.h"

namespace fhirsync::fhir {
namespace {

using rapidjson::Value;

std::string Str(const Value& object, const char* name) {
  if (!object.IsObject()) return std::string();
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::string();
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

const Value* Member(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

const Value* Array(const Value& object, const char* name) {
  const Value* value = Member(object, name);
  return value != nullptr && value->IsArray() ? value : nullptr;
}

Status Parse(std::string_view body, rapidjson::Document& doc, std::string_view expected_type) {
  // The parse iterates, but serialising a resource (ResourceOf) recurses
  // once per level: a hostile answer nested 100,000 deep must stop here.
  FHIRSYNC_RETURN_IF_ERROR(CheckJsonDepth(body, kMaxJsonAnswerDepth, "answer"));
  // Full precision: a decimal must come out of the client as the number the
  // server sent, or the pulled copy differs from the parent's.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(body.data(),
                                                                                 body.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError(std::string("answer is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.GetParseError()) + " (at byte " +
                                std::to_string(doc.GetErrorOffset()) + ")");
  }
  std::string type = Str(doc, "resourceType");
  if (type != expected_type) {
    return InvalidArgumentError("answer is not a " + std::string(expected_type) +
                                " (resourceType '" + EscapeForMessage(type) + "')");
  }
  return Status::Ok();
}

BundleResource ResourceOf(const Value& resource) {
  BundleResource out;
  out.resource_type = Str(resource, "resourceType");
  out.id = Str(resource, "id");
  if (const Value* meta = Member(resource, "meta")) {
    out.version_id = Str(*meta, "versionId");
    out.last_updated = Str(*meta, "lastUpdated");
  }
  out.body = WriteJson(resource);
  return out;
}

std::string NextLink(const Value& bundle) {
  if (const Value* links = Array(bundle, "link")) {
    for (const Value& link : links->GetArray()) {
      if (Str(link, "relation") == "next") return Str(link, "url");
    }
  }
  return std::string();
}

// "Patient/1/_history/2", "http://x/fhir/Patient/1" -> type, id, version.
void SplitReference(std::string_view url, std::string& type, std::string& id,
                    std::string& version) {
  std::size_t query = url.find('?');
  if (query != std::string_view::npos) url = url.substr(0, query);
  std::vector<std::string> parts = SplitList(url, '/');
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] == "_history" && i >= 2 && i + 1 < parts.size()) {
      type = parts[i - 2];
      id = parts[i - 1];
      version = parts[i + 1];
      return;
    }
  }
  if (parts.size() >= 2) {
    type = parts[parts.size() - 2];
    id = parts[parts.size() - 1];
  }
}

}  // namespace

std::string VersionFromLocation(std::string_view location) {
  std::size_t at = location.find("/_history/");
  if (at == std::string_view::npos) return std::string();
  std::string_view rest = location.substr(at + 10);
  std::size_t end = rest.find_first_of("/?#");
  return std::string(rest.substr(0, end));
}

std::string MetaVersionId(std::string_view body) {
  if (body.empty() || !CheckJsonDepth(body, kMaxJsonAnswerDepth).ok()) return std::string();
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) return std::string();
  const Value* meta = Member(doc, "meta");
  return meta == nullptr ? std::string() : Str(*meta, "versionId");
}

std::string OperationOutcomeText(std::string_view body) {
  if (body.empty() || !CheckJsonDepth(body, kMaxJsonAnswerDepth).ok()) return std::string();
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || Str(doc, "resourceType") != "OperationOutcome") return std::string();
  std::string text;
  if (const Value* issues = Array(doc, "issue")) {
    for (const Value& issue : issues->GetArray()) {
      std::string what = Str(issue, "diagnostics");
      if (what.empty()) {
        if (const Value* details = Member(issue, "details")) what = Str(*details, "text");
      }
      std::string severity = Str(issue, "severity");
      std::string code = Str(issue, "code");
      std::string line = severity.empty() ? std::string("issue") : severity;
      if (!code.empty()) line += " (" + code + ")";
      if (!what.empty()) line += ": " + what;
      if (!text.empty()) text += "; ";
      text += line;
    }
  }
  return text;
}

StatusOr<HistoryPage> ParseHistoryBundle(std::string_view body) {
  rapidjson::Document doc;
  FHIRSYNC_RETURN_IF_ERROR(Parse(body, doc, "Bundle"));
  HistoryPage page;
  page.next_url = NextLink(doc);
  page.bundle_type = Str(doc, "type");
  if (const Value* entries = Array(doc, "entry")) {
    for (const Value& entry : entries->GetArray()) {
      HistoryEntry out;
      const Value* request = Member(entry, "request");
      if (request != nullptr) out.method = Str(*request, "method");
      std::string ref_type, ref_id, ref_version;
      if (request != nullptr) SplitReference(Str(*request, "url"), ref_type, ref_id, ref_version);
      if (ref_id.empty()) SplitReference(Str(entry, "fullUrl"), ref_type, ref_id, ref_version);
      const Value* resource = Member(entry, "resource");
      if (resource != nullptr && resource->IsObject()) {
        BundleResource found = ResourceOf(*resource);
        out.resource_type = found.resource_type;
        out.id = found.id;
        out.version_id = found.version_id;
        out.last_updated = found.last_updated;
        out.body = std::move(found.body);
      }
      if (out.resource_type.empty()) out.resource_type = ref_type;
      if (out.id.empty()) out.id = ref_id;
      if (out.version_id.empty()) {
        out.version_id = ref_version;
        if (const Value* response = Member(entry, "response")) {
          if (out.version_id.empty()) out.version_id = net::VersionFromEtag(Str(*response, "etag"));
        }
      }
      // A delete has no resource to carry meta.lastUpdated; its time is the
      // response's, which keeps it in order among the page's entries.
      if (out.last_updated.empty()) {
        if (const Value* response = Member(entry, "response")) {
          out.last_updated = Str(*response, "lastModified");
        }
      }
      out.deleted = out.method == "DELETE" || (resource == nullptr && out.method.empty());
      if (out.resource_type.empty() || out.id.empty()) {
        return InvalidArgumentError("history entry " + std::to_string(page.entries.size() + 1) +
                                    " names no resource type and id");
      }
      page.entries.push_back(std::move(out));
    }
  }
  return page;
}

// "412 Precondition Failed" -> 412; 0 unless it starts with three digits
// followed by the end or a space.
int HttpStatusOfLine(const std::string& line) {
  if (line.size() < 3 || (line.size() > 3 && line[3] != ' ')) return 0;
  int status = 0;
  for (int i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    status = status * 10 + (line[i] - '0');
  }
  return status >= 100 ? status : 0;
}

StatusOr<std::vector<BatchAnswer>> ParseBatchResponse(std::string_view body) {
  rapidjson::Document doc;
  FHIRSYNC_RETURN_IF_ERROR(Parse(body, doc, "Bundle"));
  if (const Value* type = Member(doc, "type");
      type != nullptr && (!type->IsString() || Str(doc, "type") != "batch-response")) {
    return InvalidArgumentError("answer is a Bundle of type '" +
                                EscapeForMessage(Str(doc, "type")) +
                                "', not a batch-response");
  }
  if (const Value* entries = Member(doc, "entry"); entries != nullptr && !entries->IsArray()) {
    return InvalidArgumentError("answer's Bundle.entry is not an array");
  }
  std::vector<BatchAnswer> answers;
  if (const Value* entries = Array(doc, "entry")) {
    for (const Value& entry : entries->GetArray()) {
      BatchAnswer answer;
      if (const Value* response = Member(entry, "response")) {
        answer.status_text = Str(*response, "status");
        answer.http_status = HttpStatusOfLine(answer.status_text);
        answer.etag = Str(*response, "etag");
        answer.location = Str(*response, "location");
        if (const Value* outcome = Member(*response, "outcome")) {
          answer.outcome_text = OperationOutcomeText(WriteJson(*outcome));
        }
      }
      const Value* resource = Member(entry, "resource");
      if (resource != nullptr && resource->IsObject()) {
        if (Str(*resource, "resourceType") == "OperationOutcome") {
          if (answer.outcome_text.empty()) {
            answer.outcome_text = OperationOutcomeText(WriteJson(*resource));
          }
        } else {
          answer.has_resource = true;
          answer.resource = ResourceOf(*resource);
        }
      }
      answers.push_back(std::move(answer));
    }
  }
  return answers;
}

StatusOr<SearchPage> ParseSearchBundle(std::string_view body) {
  rapidjson::Document doc;
  FHIRSYNC_RETURN_IF_ERROR(Parse(body, doc, "Bundle"));
  SearchPage page;
  page.next_url = NextLink(doc);
  if (const Value* entries = Array(doc, "entry")) {
    for (const Value& entry : entries->GetArray()) {
      if (const Value* search = Member(entry, "search")) {
        std::string mode = Str(*search, "mode");
        if (!mode.empty() && mode != "match") continue;
      }
      const Value* resource = Member(entry, "resource");
      if (resource != nullptr && resource->IsObject()) page.matches.push_back(ResourceOf(*resource));
    }
  }
  return page;
}

StatusOr<FhirCapabilities> ParseCapabilityStatement(std::string_view body) {
  rapidjson::Document doc;
  FHIRSYNC_RETURN_IF_ERROR(Parse(body, doc, "CapabilityStatement"));
  FhirCapabilities caps;
  caps.fhir_version = Str(doc, "fhirVersion");
  if (const Value* software = Member(doc, "software")) caps.software = Str(*software, "name");
  if (const Value* rests = Array(doc, "rest")) {
    for (const Value& rest : rests->GetArray()) {
      if (Str(rest, "mode") == "client") continue;
      if (const Value* interactions = Array(rest, "interaction")) {
        for (const Value& interaction : interactions->GetArray()) {
          std::string code = Str(interaction, "code");
          if (!code.empty()) caps.system_interactions.insert(code);
        }
      }
      if (const Value* resources = Array(rest, "resource")) {
        for (const Value& resource : resources->GetArray()) {
          std::string type = Str(resource, "type");
          if (type.empty()) continue;
          std::set<std::string>& codes = caps.interactions[type];
          if (const Value* update_create = Member(resource, "updateCreate");
              update_create != nullptr && update_create->IsBool() && update_create->GetBool()) {
            caps.update_create.insert(type);
          }
          if (const Value* interactions = Array(resource, "interaction")) {
            for (const Value& interaction : interactions->GetArray()) {
              std::string code = Str(interaction, "code");
              if (!code.empty()) codes.insert(code);
            }
          }
          if (const Value* params = Array(resource, "searchParam")) {
            for (const Value& param : params->GetArray()) {
              std::string name = Str(param, "name");
              if (!name.empty()) caps.search_params[type].insert(name);
            }
          }
        }
      }
    }
  }
  return caps;
}

std::string BuildBatchReadBundle(std::string_view type, const std::vector<std::string>& ids) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  doc.AddMember("resourceType", "Bundle", alloc);
  doc.AddMember("type", "batch", alloc);
  Value entries(rapidjson::kArrayType);
  for (const std::string& id : ids) {
    std::string url = std::string(type) + "/" + id;
    Value request(rapidjson::kObjectType);
    request.AddMember("method", "GET", alloc);
    request.AddMember("url", Value(url.c_str(), static_cast<rapidjson::SizeType>(url.size()), alloc),
                      alloc);
    Value entry(rapidjson::kObjectType);
    entry.AddMember("request", request, alloc);
    entries.PushBack(entry, alloc);
  }
  doc.AddMember("entry", entries, alloc);
  return WriteJson(doc);
}

std::string BuildBatchWriteBundle(const std::vector<const BatchWrite*>& writes) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&w](std::string_view text) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  };
  w.StartObject();
  w.Key("resourceType");
  w.String("Bundle");
  w.Key("type");
  w.String("batch");
  w.Key("entry");
  w.StartArray();
  for (const BatchWrite* write : writes) {
    const bool put = write->method == WriteMethod::kPut;
    w.StartObject();
    if (put) {
      w.Key("resource");
      w.RawValue(write->body.data(), write->body.size(), rapidjson::kObjectType);
    }
    w.Key("request");
    w.StartObject();
    w.Key("method");
    w.String(put ? "PUT" : "DELETE");
    w.Key("url");
    string(write->type + "/" + write->id);
    if (!write->expected_version.empty()) {
      w.Key("ifMatch");
      string("W/\"" + write->expected_version + "\"");
    } else if (write->if_none_match) {
      w.Key("ifNoneMatch");
      w.String("*");
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

net::HttpTransportOptions TransportOptionsFor(const FhirClientOptions& options,
                                              const net::HttpEndpoint& endpoint) {
  net::HttpTransportOptions http;
  http.host = endpoint.host;
  http.port = endpoint.port;
  http.tls = endpoint.tls;
  http.ca_file = options.ca_file;
  http.accept = "application/fhir+json";
  http.auth = {options.username, options.password, options.bearer_token, options.smart};
  http.connect_timeout_ms = options.connect_timeout_ms;
  http.io_timeout_ms = options.io_timeout_ms;
  http.keep_alive_idle_ms = options.keep_alive_idle_ms;
  http.max_response_bytes = options.max_response_bytes;
  http.deadline_ms = options.request_deadline_ms;
  http.accept_gzip = options.accept_gzip;
  http.node_id = options.node_id;
  return http;
}

}  // namespace fhirsync::fhir
