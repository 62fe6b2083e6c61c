#include "fhirsync/base/fhir_json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync {

std::unique_ptr<char[]> InsituCopy(std::string_view body) {
  // Four NULs: the terminator, and three more because RapidJSON's UTF-8
  // validation (kParseValidateEncodingFlag) takes every byte a lead byte
  // announces before it judges them, so a body ending in a lead byte
  // (0xF2) is read up to three bytes past the terminator.
  constexpr std::size_t kPadding = 4;
  auto text = std::make_unique_for_overwrite<char[]>(body.size() + kPadding);
  std::memcpy(text.get(), body.data(), body.size());
  std::memset(text.get() + body.size(), 0, kPadding);
  return text;
}

namespace {

// InvalidArgument when `object` has one of `names` more than once. Stamping
// reads and edits the first copy (FindMember, RemoveMember) and writes the
// stamp after the last meta, so a second copy would leave the stored body
// with its old stamp, or the new one where a re-read does not look: its
// content hash would change from node to node. And a reader that takes the
// last copy (many do) would see another type or id than this node stored.
Status CheckSingleMembers(const rapidjson::Value& object, std::string_view where,
                          std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    int seen = 0;
    for (const auto& member : object.GetObject()) {
      if (std::string_view(member.name.GetString(), member.name.GetStringLength()) == name &&
          ++seen > 1) {
        return InvalidArgumentError(std::string(where) + " has more than one '" +
                                    std::string(name) + "' member");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckNoZeroWithExponent(std::string_view json) {
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    const std::size_t start = i;
    bool nonzero = false;
    if (c == '-') ++i;
    while (i < json.size() && ((json[i] >= '0' && json[i] <= '9') || json[i] == '.')) {
      if (json[i] != '0' && json[i] != '.') nonzero = true;
      ++i;
    }
    const bool exponent = i < json.size() && (json[i] == 'e' || json[i] == 'E');
    while (i < json.size() && ((json[i] >= '0' && json[i] <= '9') || json[i] == 'e' ||
                               json[i] == 'E' || json[i] == '+' || json[i] == '-')) {
      ++i;
    }
    if (exponent && !nonzero) {
      return InvalidArgumentError("the number '" + EscapeForMessage(json.substr(start, i - start)) +
                                  "' (at byte " + std::to_string(start) +
                                  ") is a zero with an exponent; write it as 0");
    }
    --i;
  }
  return Status::Ok();
}

StatusOr<FhirDocument> ParseFhirBody(std::string_view body, std::size_t max_body_bytes) {
  if (body.size() > max_body_bytes) {
    return ResourceExhaustedError("body is " + std::to_string(body.size()) +
                                  " bytes, over the cap of " + std::to_string(max_body_bytes) +
                                  " bytes (store.max_body_bytes)");
  }
  // The in-situ parse below reads up to a NUL: one inside the body would
  // hide what follows it (JSON allows none outside a string's escapes).
  if (const void* nul = std::memchr(body.data(), '\0', body.size()); nul != nullptr) {
    return InvalidArgumentError(
        "body is not valid JSON: a NUL byte (at byte " +
        std::to_string(static_cast<const char*>(nul) - body.data()) + ")");
  }
  // The parse below, and every later walk of the document, recurse once per
  // level: a body nested deeper than the limit is refused before either.
  // A body that is not UTF-8 would be stored and served to every child
  // byte for byte: refused here, whichever way it came in (put, import, a
  // pull).
  FHIRSYNC_RETURN_IF_ERROR(CheckJsonText(body));
  FHIRSYNC_RETURN_IF_ERROR(CheckNoZeroWithExponent(body));
  FhirDocument doc;
  doc.text = InsituCopy(body);
  doc.text_size = body.size();
  // kParseStopWhenDoneFlag is not used: trailing garbage is an error.
  // Full precision: the body is re-serialised after stamping, and FHIR
  // decimals (coordinates, doses) must come back as the same number.
  doc.json.ParseInsitu<rapidjson::kParseFullPrecisionFlag>(doc.text.get());
  if (doc.json.HasParseError()) {
    return InvalidArgumentError(std::string("body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.json.GetParseError()) +
                                " (at byte " + std::to_string(doc.json.GetErrorOffset()) + ")");
  }
  if (!doc.json.IsObject()) return InvalidArgumentError("body is not a JSON object");
  FHIRSYNC_RETURN_IF_ERROR(CheckSingleMembers(doc.json, "body", {"resourceType", "id", "meta"}));
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
  if (meta_it != doc.json.MemberEnd()) {
    FHIRSYNC_RETURN_IF_ERROR(
        CheckSingleMembers(meta_it->value, "meta", {"versionId", "lastUpdated"}));
  }
  return doc;
}

std::string WriteJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

UnstampedBody PrepareFhirBodyForStamp(FhirDocument& doc, std::string_view id) {
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
  // One serialisation serves both results: the text without the stamp is
  // what is hashed, and the stored body is that text with the stamp spliced
  // in where a second serialisation would put it (the end of `meta`, or a
  // new `meta` member at the end). Writing members one by one produces the
  // same bytes as Accept() on the whole document.
  // Sized for the body as it came, so the buffer does not grow as it fills.
  rapidjson::StringBuffer buffer(nullptr, doc.text_size + id.size() + 64);
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  std::size_t meta_end = std::string::npos;  // offset of meta's closing brace
  writer.StartObject();
  for (const auto& member : doc.json.GetObject()) {
    writer.Key(member.name.GetString(), member.name.GetStringLength());
    if (member.name == "meta" && member.value.IsObject()) {
      writer.StartObject();
      for (const auto& field : member.value.GetObject()) {
        writer.Key(field.name.GetString(), field.name.GetStringLength());
        field.value.Accept(writer);
      }
      meta_end = buffer.GetSize();
      writer.EndObject(member.value.MemberCount());
    } else {
      member.value.Accept(writer);
    }
  }
  const std::size_t object_end = buffer.GetSize();
  writer.EndObject(doc.json.MemberCount());

  // meta is never empty when present: an empty one was removed above; and
  // resourceType is always there, so a new meta is never the first member.
  return MakeUnstampedBody(std::string_view(buffer.GetString(), buffer.GetSize()), meta_end,
                           object_end, FhirContentHash(doc.json));
}

UnstampedBody MakeUnstampedBody(std::string_view text, std::size_t meta_end,
                                std::size_t object_end, std::string content_hash) {
  UnstampedBody out;
  out.text.assign(text);
  out.content_hash = std::move(content_hash);
  out.into_meta = meta_end != std::string::npos;
  out.stamp_at = out.into_meta ? meta_end : object_end;
  return out;
}

std::string ApplyStamp(const UnstampedBody& body, std::int64_t version,
                       std::int64_t last_updated_ms) {
  return ApplyStamp(body, version, FormatInstant(last_updated_ms));
}

std::string ApplyStamp(const UnstampedBody& body, std::int64_t version,
                       std::string_view last_updated) {
  std::string out;
  ApplyStampTo(body, version, last_updated, out);
  return out;
}

void ApplyStampTo(const UnstampedBody& body, std::int64_t version, std::string_view last_updated,
                  std::string& out) {
  char version_text[24];
  const std::size_t version_size = static_cast<std::size_t>(
      std::to_chars(version_text, version_text + sizeof version_text, version).ptr -
      version_text);
  const std::string_view text = body.text;
  out.clear();
  out.reserve(text.size() + version_size + last_updated.size() + 48);
  out.append(text.substr(0, body.stamp_at));
  out += body.into_meta ? ",\"versionId\":\"" : ",\"meta\":{\"versionId\":\"";
  out.append(version_text, version_size);
  out += "\",\"lastUpdated\":\"";
  out += last_updated;
  out += '"';
  if (!body.into_meta) out += '}';
  out.append(text.substr(body.stamp_at));
}

StampedBody StampFhirBody(FhirDocument& doc, std::string_view id, std::int64_t version,
                          std::int64_t last_updated_ms) {
  UnstampedBody unstamped = PrepareFhirBodyForStamp(doc, id);
  StampedBody out;
  out.body = ApplyStamp(unstamped, version, last_updated_ms);
  out.content_hash = std::move(unstamped.content_hash);
  return out;
}

}  // namespace fhirsync
