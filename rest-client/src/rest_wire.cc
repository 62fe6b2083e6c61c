#include "rest_wire.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/instant.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync::rest {
namespace {

using rapidjson::Value;

Status Parse(std::string_view body, rapidjson::Document* doc) {
  // The parse iterates, but BodyWithUuid serialises the document, which
  // recurses once per level.
  FHIRSYNC_RETURN_IF_ERROR(CheckJsonDepth(body, kMaxJsonAnswerDepth));
  doc->Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc->HasParseError()) {
    return InvalidArgumentError(std::string("body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc->GetParseError()) + " (at byte " +
                                std::to_string(doc->GetErrorOffset()) + ")");
  }
  if (!doc->IsObject()) return InvalidArgumentError("body is not a JSON object");
  return Status::Ok();
}

std::string StringMember(const Value& object, const char* name) {
  if (!object.IsObject()) return std::string();
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::string();
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

void Append(std::string* out, const std::string& part) {
  if (part.empty()) return;
  if (!out->empty()) *out += "; ";
  *out += part;
}

}  // namespace

Status CheckJsonObject(std::string_view body) {
  rapidjson::Document doc;
  return Parse(body, &doc);
}

StatusOr<std::string> BodyWithUuid(std::string_view body, std::string_view uuid) {
  rapidjson::Document doc;
  FHIRSYNC_RETURN_IF_ERROR(Parse(body, &doc));
  auto it = doc.FindMember("uuid");
  if (it != doc.MemberEnd()) {
    if (!it->value.IsString()) return InvalidArgumentError("body uuid is not a string");
    std::string_view given(it->value.GetString(), it->value.GetStringLength());
    if (given != uuid) {
      return InvalidArgumentError("body uuid '" + EscapeForMessage(given) +
                                  "' does not match the uuid '" + EscapeForMessage(uuid) +
                                  "' it is written as");
    }
    return std::string(body);
  }
  doc.AddMember("uuid",
                Value(uuid.data(), static_cast<rapidjson::SizeType>(uuid.size()),
                      doc.GetAllocator()),
                doc.GetAllocator());
  return WriteJson(doc);
}

std::string ErrorMessage(std::string_view body) {
  rapidjson::Document doc;
  if (body.empty() || !Parse(body, &doc).ok()) return std::string();
  auto error = doc.FindMember("error");
  if (error == doc.MemberEnd() || !error->value.IsObject()) return std::string();
  const Value& e = error->value;
  std::string text = StringMember(e, "message");
  auto global = e.FindMember("globalErrors");
  if (global != e.MemberEnd() && global->value.IsArray()) {
    for (const Value& item : global->value.GetArray()) Append(&text, StringMember(item, "message"));
  }
  auto fields = e.FindMember("fieldErrors");
  if (fields != e.MemberEnd() && fields->value.IsObject()) {
    for (const auto& field : fields->value.GetObject()) {
      if (!field.value.IsArray()) continue;
      for (const Value& item : field.value.GetArray()) {
        std::string message = StringMember(item, "message");
        if (!message.empty()) {
          Append(&text, std::string(field.name.GetString(), field.name.GetStringLength()) + ": " +
                            message);
        }
      }
    }
  }
  // Kept as the server wrote it (it is shown to operators), but bounded.
  constexpr std::size_t kMaxChars = 2000;
  if (text.size() > kMaxChars) text = text.substr(0, kMaxChars) + "...";
  return text;
}

StatusOr<std::int64_t> ParseOpenmrsDate(std::string_view text) {
  // OpenMRS writes the offset without a colon ("+0530").
  InstantSyntax openmrs;
  openmrs.compact_offset = true;
  StatusOr<ParsedInstant> parsed = ParseInstantText(text, openmrs);
  if (!parsed.ok()) {
    return InvalidArgumentError("'" + EscapeForMessage(text) + "' is not an OpenMRS date");
  }
  return parsed->epoch_ms;
}

std::int64_t AuditLastUpdatedMs(std::string_view body) {
  rapidjson::Document doc;
  if (body.empty() || !Parse(body, &doc).ok()) return 0;
  auto audit = doc.FindMember("auditInfo");
  if (audit == doc.MemberEnd() || !audit->value.IsObject()) return 0;
  for (const char* name : {"dateChanged", "dateCreated"}) {
    std::string date = StringMember(audit->value, name);
    if (date.empty()) continue;
    StatusOr<std::int64_t> ms = ParseOpenmrsDate(date);
    if (ms.ok()) return *ms;
  }
  return 0;
}

}  // namespace fhirsync::rest
