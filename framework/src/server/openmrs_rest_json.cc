#include "server/openmrs_rest_json.h"

#include <rapidjson/error/en.h>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/text_util.h"
#include "server/operation_outcome.h"

namespace fhirsync::server {
namespace {

using rapidjson::Value;

Value Str(std::string_view text, rapidjson::Document::AllocatorType& alloc) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}

// Members a client may send back from a representation but that the node
// makes itself on every GET.
bool IsRepresentationOnly(std::string_view name) {
  return name == "links" || name == "resourceVersion";
}

void SetMember(Value& object, std::string_view name, Value value,
               rapidjson::Document::AllocatorType& alloc) {
  auto it = object.FindMember(Str(name, alloc));
  if (it != object.MemberEnd()) {
    it->value = value;
  } else {
    object.AddMember(Str(name, alloc), value, alloc);
  }
}

Value Link(std::string_view rel, std::string_view uri,
           rapidjson::Document::AllocatorType& alloc) {
  Value link(rapidjson::kObjectType);
  link.AddMember("rel", Str(rel, alloc), alloc);
  link.AddMember("uri", Str(uri, alloc), alloc);
  return link;
}

}  // namespace

StatusOr<RestRepresentation> ParseRestRepresentation(const std::string* value) {
  if (value == nullptr || *value == "default") return RestRepresentation::kDefault;
  if (*value == "full") return RestRepresentation::kFull;
  if (*value == "ref") return RestRepresentation::kRef;
  return InvalidArgumentError("representation v='" + EscapeForMessage(*value) +
                              "' is not supported (ref, default or full)");
}

HttpResponse RestErrorResponse(int http_status, std::string_view message) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  Value error(rapidjson::kObjectType);
  error.AddMember("message", Str(message, alloc), alloc);
  error.AddMember("code", Str(std::to_string(http_status), alloc), alloc);
  error.AddMember("detail", "", alloc);
  doc.AddMember("error", error, alloc);
  HttpResponse response;
  response.status = http_status;
  response.content_type = kRestJson;
  response.body = WriteJson(doc);
  return response;
}

HttpResponse RestErrorResponse(const Status& status) {
  if (status.code() == StatusCode::kAborted) {
    return RestErrorResponse(412, "version conflict: " + status.message());
  }
  return RestErrorResponse(HttpStatusFor(status.code()), status.message());
}

HttpResponse AsRestError(HttpResponse response) {
  if (response.status < 400 || response.content_type != kFhirJson) return response;
  rapidjson::Document outcome;
  const std::string& body = response.Body();
  outcome.Parse(body.data(), body.size());
  std::string message = "HTTP " + std::to_string(response.status);
  if (!outcome.HasParseError() && outcome.IsObject() && outcome.HasMember("issue") &&
      outcome["issue"].IsArray() && !outcome["issue"].Empty() &&
      outcome["issue"][0].IsObject() && outcome["issue"][0].HasMember("diagnostics") &&
      outcome["issue"][0]["diagnostics"].IsString()) {
    message = outcome["issue"][0]["diagnostics"].GetString();
  }
  HttpResponse rest = RestErrorResponse(response.status, message);
  rest.headers = std::move(response.headers);
  return rest;
}

Status ParseRestBody(std::string_view body, rapidjson::Document* doc) {
  if (body.empty()) return InvalidArgumentError("the request has no body (a JSON object)");
  doc->Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc->HasParseError()) {
    return InvalidArgumentError(std::string("body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc->GetParseError()) + " (at byte " +
                                std::to_string(doc->GetErrorOffset()) + ")");
  }
  if (!doc->IsObject()) return InvalidArgumentError("body is not a JSON object");
  return Status::Ok();
}

std::string StoredRestBody(rapidjson::Document& doc, std::string_view uuid) {
  auto& alloc = doc.GetAllocator();
  Value stored(rapidjson::kObjectType);
  stored.AddMember("uuid", Str(uuid, alloc), alloc);
  for (auto& member : doc.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == "uuid" || IsRepresentationOnly(name)) continue;
    stored.AddMember(member.name, member.value, alloc);
  }
  return WriteJson(stored);
}

std::string MergedRestBody(rapidjson::Document& stored, const rapidjson::Value& update,
                           std::string_view uuid) {
  auto& alloc = stored.GetAllocator();
  for (const auto& member : update.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == "uuid" || IsRepresentationOnly(name)) continue;
    SetMember(stored, name, Value(member.value, alloc), alloc);
  }
  return StoredRestBody(stored, uuid);
}

std::string OpenmrsDate(std::int64_t epoch_ms) {
  std::string text = FormatInstant(epoch_ms);  // "...T10:15:30.123Z"
  if (!text.empty() && text.back() == 'Z') text.replace(text.size() - 1, 1, "+0000");
  return text;
}

std::string RestRepresentationBody(const Resource& resource, RestRepresentation representation,
                                   const std::string& self_url, std::int64_t created_ms) {
  rapidjson::Document stored;
  stored.Parse(resource.body.data(), resource.body.size());
  if (stored.HasParseError() || !stored.IsObject()) stored.SetObject();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& alloc = out.GetAllocator();
  out.AddMember("uuid", Str(resource.id, alloc), alloc);
  Value links(rapidjson::kArrayType);
  links.PushBack(Link("self", self_url, alloc), alloc);
  if (representation == RestRepresentation::kRef) {
    for (const char* name : {"display", "name"}) {
      if (stored.HasMember(name) && stored[name].IsString()) {
        out.AddMember("display", Value(stored[name], alloc), alloc);
        break;
      }
    }
    if (stored.HasMember("voided")) out.AddMember("voided", Value(stored["voided"], alloc), alloc);
    if (stored.HasMember("retired")) {
      out.AddMember("retired", Value(stored["retired"], alloc), alloc);
    }
    out.AddMember("links", links, alloc);
    return WriteJson(out);
  }
  for (const auto& member : stored.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == "uuid" || IsRepresentationOnly(name)) continue;
    if (name == "auditInfo" && representation != RestRepresentation::kFull) continue;
    out.AddMember(Value(member.name, alloc), Value(member.value, alloc), alloc);
  }
  if (representation == RestRepresentation::kFull && !out.HasMember("auditInfo")) {
    Value audit(rapidjson::kObjectType);
    audit.AddMember("dateCreated", Str(OpenmrsDate(created_ms), alloc), alloc);
    if (resource.version > 1) {
      audit.AddMember("dateChanged", Str(OpenmrsDate(resource.last_updated_ms), alloc), alloc);
    } else {
      audit.AddMember("dateChanged", Value(rapidjson::kNullType), alloc);
    }
    out.AddMember("auditInfo", audit, alloc);
  }
  if (representation == RestRepresentation::kDefault) {
    links.PushBack(Link("full", self_url + "?v=full", alloc), alloc);
  }
  out.AddMember("links", links, alloc);
  return WriteJson(out);
}

}  // namespace fhirsync::server
