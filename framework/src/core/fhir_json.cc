#include "core/fhir_json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync {

StatusOr<FhirDocument> ParseFhirBody(std::string_view body, std::size_t max_body_bytes) {
  if (body.size() > max_body_bytes) {
    return ResourceExhaustedError("body is " + std::to_string(body.size()) +
                                  " bytes, over the cap of " + std::to_string(max_body_bytes) +
                                  " bytes (store.max_body_bytes)");
  }
  FhirDocument doc;
  // kParseStopWhenDoneFlag is not used: trailing garbage is an error.
  // Full precision: the body is re-serialised after stamping, and FHIR
  // decimals (coordinates, doses) must come back as the same number.
  doc.json.Parse<rapidjson::kParseFullPrecisionFlag>(body.data(), body.size());
  if (doc.json.HasParseError()) {
    return InvalidArgumentError(std::string("body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.json.GetParseError()) +
                                " (at byte " + std::to_string(doc.json.GetErrorOffset()) + ")");
  }
  if (!doc.json.IsObject()) return InvalidArgumentError("body is not a JSON object");
  auto type_it = doc.json.FindMember("resourceType");
  if (type_it == doc.json.MemberEnd()) {
    return InvalidArgumentError("body has no resourceType");
  }
  if (!type_it->value.IsString()) {
    return InvalidArgumentError("resourceType is not a string");
  }
  doc.resource_type.assign(type_it->value.GetString(), type_it->value.GetStringLength());
  FHIRSYNC_RETURN_IF_ERROR(ValidateResourceType(doc.resource_type));
  auto id_it = doc.json.FindMember("id");
  if (id_it != doc.json.MemberEnd()) {
    if (!id_it->value.IsString()) return InvalidArgumentError("id is not a string");
    doc.id.assign(id_it->value.GetString(), id_it->value.GetStringLength());
    FHIRSYNC_RETURN_IF_ERROR(ValidateId(doc.id));
  }
  auto meta_it = doc.json.FindMember("meta");
  if (meta_it != doc.json.MemberEnd() && !meta_it->value.IsObject()) {
    return InvalidArgumentError("meta is not a JSON object");
  }
  return doc;
}

std::string WriteJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

StampedBody StampFhirBody(FhirDocument& doc, std::string_view id, std::int64_t version,
                          std::int64_t last_updated_ms) {
  auto& alloc = doc.json.GetAllocator();
  rapidjson::Value id_value(id.data(), static_cast<rapidjson::SizeType>(id.size()), alloc);
  auto id_it = doc.json.FindMember("id");
  if (id_it != doc.json.MemberEnd()) {
    id_it->value = id_value;
  } else {
    // FHIR puts id right after resourceType; keep that order so every node
    // serialises (and hashes) the same text.
    rapidjson::Value rebuilt(rapidjson::kObjectType);
    for (auto& member : doc.json.GetObject()) {
      const bool is_type = member.name == "resourceType";
      rebuilt.AddMember(member.name, member.value, alloc);
      if (is_type) rebuilt.AddMember("id", id_value, alloc);
    }
    static_cast<rapidjson::Value&>(doc.json).Swap(rebuilt);
  }
  auto meta_it = doc.json.FindMember("meta");
  if (meta_it != doc.json.MemberEnd() && meta_it->value.IsObject()) {
    meta_it->value.RemoveMember("versionId");
    meta_it->value.RemoveMember("lastUpdated");
    if (meta_it->value.ObjectEmpty()) doc.json.RemoveMember("meta");
  }
  StampedBody out;
  out.content_hash = Sha256Hex(WriteJson(doc.json));

  meta_it = doc.json.FindMember("meta");
  if (meta_it == doc.json.MemberEnd()) {
    doc.json.AddMember("meta", rapidjson::Value(rapidjson::kObjectType), alloc);
    meta_it = doc.json.FindMember("meta");
  }
  std::string version_text = std::to_string(version);
  std::string instant = FormatInstant(last_updated_ms);
  meta_it->value.AddMember(
      "versionId",
      rapidjson::Value(version_text.c_str(), static_cast<rapidjson::SizeType>(version_text.size()), alloc),
      alloc);
  meta_it->value.AddMember(
      "lastUpdated",
      rapidjson::Value(instant.c_str(), static_cast<rapidjson::SizeType>(instant.size()), alloc),
      alloc);
  out.body = WriteJson(doc.json);
  return out;
}

std::string HashOpaqueBody(std::string_view body) { return Sha256Hex(body); }

}  // namespace fhirsync
