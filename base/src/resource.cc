#include "fhirsync/resource.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/instant.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {

std::string_view ResourceFormatName(ResourceFormat format) {
  switch (format) {
    case ResourceFormat::kFhirJson: return "fhir+json";
    case ResourceFormat::kOpenmrsRest: return "openmrs-rest";
  }
  return "fhir+json";
}

StatusOr<ResourceFormat> ParseResourceFormat(std::string_view name) {
  if (name == "fhir+json") return ResourceFormat::kFhirJson;
  if (name == "openmrs-rest") return ResourceFormat::kOpenmrsRest;
  return InvalidArgumentError("unknown resource format '" + EscapeForMessage(name) +
                              "' (expected fhir+json or openmrs-rest)");
}

namespace {

// FHIR's id characters, by byte: a table, because every write checks an id
// and the chain of comparisons showed in bulk imports.
constexpr std::array<bool, 256> kIdChars = [] {
  std::array<bool, 256> table{};
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  table['-'] = true;
  table['.'] = true;
  return table;
}();

bool IsIdChar(char c) { return kIdChars[static_cast<unsigned char>(c)]; }

}  // namespace

Status ValidateId(std::string_view id) {
  if (id.empty()) return InvalidArgumentError("id is empty");
  if (id.size() > 64) {
    return InvalidArgumentError("id '" + EscapeForMessage(id) + "' is " +
                                std::to_string(id.size()) +
                                " characters long; FHIR allows at most 64");
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (!IsIdChar(id[i])) {
      return InvalidArgumentError("id '" + EscapeForMessage(id) + "' has a character not allowed by FHIR's id rule [A-Za-z0-9-.] at position " + std::to_string(i));
    }
  }
  return Status::Ok();
}

Status ValidateResourceType(std::string_view type) {
  if (type.empty()) return InvalidArgumentError("resourceType is empty");
  bool ok = type.size() <= 64 && type[0] >= 'A' && type[0] <= 'Z';
  for (char c : type) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  if (!ok) {
    return InvalidArgumentError("resourceType '" + EscapeForMessage(type) +
                                "' is not a FHIR type name (an upper-case letter, then "
                                "letters and digits, at most 64)");
  }
  return Status::Ok();
}

Status ValidateRestResourceName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) {
    return InvalidArgumentError("OpenMRS resource name '" + EscapeForMessage(name) +
                                "' is not valid (lower-case letters, digits, '_', at most 64)");
  }
  return Status::Ok();
}

std::optional<ResourceFormat> FormatOfType(std::string_view type) {
  if (ValidateResourceType(type).ok()) return ResourceFormat::kFhirJson;
  if (ValidateRestResourceName(type).ok()) return ResourceFormat::kOpenmrsRest;
  return std::nullopt;
}

StatusOr<ParsedBodyInfo> InspectFhirBody(std::string_view body, std::size_t max_body_bytes) {
  FHIRSYNC_ASSIGN_OR_RETURN(FhirDocument doc, ParseFhirBody(body, max_body_bytes));
  return ParsedBodyInfo{doc.resource_type, doc.id};
}

std::int64_t NowMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatInstant(std::int64_t epoch_ms) {
  std::int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int millis = static_cast<int>(epoch_ms - secs * 1000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

StatusOr<std::int64_t> ParseInstant(std::string_view text) {
  FHIRSYNC_ASSIGN_OR_RETURN(ParsedInstant parsed, ParseInstantText(text));
  return parsed.epoch_ms;
}

}  // namespace fhirsync
