#include "output.h"

#include <iostream>

namespace fhirsync::cli {

void JsonOutput::Key(std::string_view key) {
  writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void JsonOutput::String(std::string_view value) {
  writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void JsonOutput::Raw(std::string_view json) {
  // Bodies come from the store, which only keeps bodies that parsed; an
  // empty one (never expected) stays valid JSON as null.
  if (json.empty()) {
    writer_.Null();
    return;
  }
  writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void JsonOutput::Print(std::ostream& out) const {
  out << Text() << '\n';
  out.flush();
}

void JsonOutput::Print() const { Print(std::cout); }

void WriteResourceFields(JsonOutput& json, const Resource& resource, bool with_body) {
  json.Field("type", resource.type);
  json.Field("id", resource.id);
  json.Field("version", resource.version);
  json.Field("last_updated", TimeText(resource.last_updated_ms));
  json.Field("deleted", resource.deleted);
  json.Field("format", ResourceFormatName(resource.format));
  json.Field("content_hash", resource.content_hash);
  if (with_body && !resource.deleted) {
    json.Key("resource");
    json.Raw(resource.body);
  }
}

void WriteWriteResultFields(JsonOutput& json, const WriteResult& result) {
  json.Field("type", result.type);
  json.Field("id", result.id);
  json.Field("version", result.version);
  json.Field("seq", result.seq);
  json.Field("action", ChangeActionName(result.action));
  json.Field("changed", result.changed);
  json.Field("last_updated", TimeText(result.last_updated_ms));
}

std::string TimeText(std::int64_t epoch_ms) {
  return epoch_ms == 0 ? "-" : FormatInstant(epoch_ms);
}

std::string Pad(std::string_view text, std::size_t width) {
  std::string out(text);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string PadNumber(std::int64_t value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() >= width) return digits;
  return std::string(width - digits.size(), ' ') + digits;
}

}  // namespace fhirsync::cli
