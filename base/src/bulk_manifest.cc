#include "fhirsync/base/bulk_manifest.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync {
namespace {

using Object = rapidjson::Value::ConstObject;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

Status Bad(const std::string& what) {
  return InvalidArgumentError("bulk export manifest: " + what);
}

// The string member `key` of `object` into `out`; absent leaves `out` as it
// is; present but not a string is an error.
Status OptionalString(const rapidjson::Value& object, const char* key, const std::string& where,
                      std::string& out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return Status::Ok();
  if (!it->value.IsString()) return Bad(where + "\"" + key + "\" is not a string");
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return Status::Ok();
}

Status OptionalCount(const rapidjson::Value& object, const char* key, const std::string& where,
                     std::int64_t& out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd()) return Status::Ok();
  if (!it->value.IsInt64() || it->value.GetInt64() < 0) {
    return Bad(where + "\"" + key + "\" is not a whole number >= 0");
  }
  out = it->value.GetInt64();
  return Status::Ok();
}

bool IsLowerHex64(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ParseFiles(const rapidjson::Value& root, const char* key, bool required,
                  std::vector<BulkOutputFile>& files) {
  auto it = root.FindMember(key);
  if (it == root.MemberEnd()) {
    return required ? Bad(std::string("no \"") + key + "\" array") : Status::Ok();
  }
  if (!it->value.IsArray()) return Bad(std::string("\"") + key + "\" is not an array");
  const auto array = it->value.GetArray();
  if (array.Size() > kMaxBulkManifestFiles) {
    return Bad(std::string("\"") + key + "\" lists " + std::to_string(array.Size()) +
               " files, more than the limit of " + std::to_string(kMaxBulkManifestFiles));
  }
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    const std::string where = std::string(key) + "[" + std::to_string(i) + "]: ";
    const rapidjson::Value& item = array[i];
    if (!item.IsObject()) return Bad(where + "not an object");
    BulkOutputFile file;
    FHIRSYNC_RETURN_IF_ERROR(OptionalString(item, "type", where, file.type));
    FHIRSYNC_RETURN_IF_ERROR(OptionalString(item, "url", where, file.url));
    if (file.type.empty()) return Bad(where + "no \"type\"");
    if (file.url.empty()) return Bad(where + "no \"url\"");
    if (!FormatOfType(file.type).has_value()) {
      return Bad(where + "\"" + EscapeForMessage(file.type) + "\" is not a resource type name");
    }
    FHIRSYNC_RETURN_IF_ERROR(OptionalCount(item, "count", where, file.count));
    auto extension = item.FindMember("extension");
    if (extension != item.MemberEnd()) {
      if (!extension->value.IsObject()) return Bad(where + "\"extension\" is not an object");
      FHIRSYNC_RETURN_IF_ERROR(OptionalString(extension->value, "sha256", where, file.sha256));
      if (!file.sha256.empty() && !IsLowerHex64(file.sha256)) {
        return Bad(where + "\"sha256\" is not 64 lowercase hex digits");
      }
      FHIRSYNC_RETURN_IF_ERROR(OptionalCount(extension->value, "bytes", where, file.bytes));
    }
    files.push_back(std::move(file));
  }
  return Status::Ok();
}

void Str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void WriteFiles(Writer& w, const char* key, const std::vector<BulkOutputFile>& files) {
  w.Key(key);
  w.StartArray();
  for (const BulkOutputFile& file : files) {
    w.StartObject();
    Str(w, "type", file.type);
    Str(w, "url", file.url);
    if (file.count >= 0) {
      w.Key("count");
      w.Int64(file.count);
    }
    if (!file.sha256.empty() || file.bytes >= 0) {
      w.Key("extension");
      w.StartObject();
      if (!file.sha256.empty()) Str(w, "sha256", file.sha256);
      if (file.bytes >= 0) {
        w.Key("bytes");
        w.Int64(file.bytes);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

StatusOr<BulkManifest> ParseBulkManifest(std::string_view text) {
  if (text.size() > kMaxBulkManifestBytes) {
    return Bad("larger than the limit of " + std::to_string(kMaxBulkManifestBytes) + " bytes");
  }
  FHIRSYNC_RETURN_IF_ERROR(CheckJsonText(text, kMaxJsonAnswerDepth, "bulk export manifest"));
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) return Bad("not JSON (at byte " + std::to_string(doc.GetErrorOffset()) + ")");
  if (!doc.IsObject()) return Bad("not a JSON object");

  BulkManifest manifest;
  FHIRSYNC_RETURN_IF_ERROR(OptionalString(doc, "transactionTime", "", manifest.transaction_time));
  if (manifest.transaction_time.empty()) return Bad("no \"transactionTime\"");
  FHIRSYNC_RETURN_IF_ERROR(OptionalString(doc, "request", "", manifest.request));
  auto token = doc.FindMember("requiresAccessToken");
  if (token != doc.MemberEnd()) {
    if (!token->value.IsBool()) return Bad("\"requiresAccessToken\" is not true or false");
    manifest.requires_access_token = token->value.GetBool();
  }
  FHIRSYNC_RETURN_IF_ERROR(ParseFiles(doc, "output", /*required=*/true, manifest.output));
  FHIRSYNC_RETURN_IF_ERROR(ParseFiles(doc, "error", /*required=*/false, manifest.error));

  auto extension = doc.FindMember("extension");
  if (extension != doc.MemberEnd()) {
    if (!extension->value.IsObject()) return Bad("\"extension\" is not an object");
    auto ours = extension->value.FindMember("fhirsync");
    if (ours != extension->value.MemberEnd()) {
      const rapidjson::Value& f = ours->value;
      if (!f.IsObject()) return Bad("extension \"fhirsync\" is not an object");
      const std::string where = "extension fhirsync: ";
      BulkFeedWatermark& mark = manifest.fhirsync;
      FHIRSYNC_RETURN_IF_ERROR(OptionalString(f, "node_id", where, mark.node_id));
      FHIRSYNC_RETURN_IF_ERROR(OptionalCount(f, "watermark_seq", where, mark.watermark_seq));
      FHIRSYNC_RETURN_IF_ERROR(OptionalString(f, "atom_page_url", where, mark.atom_page_url));
      FHIRSYNC_RETURN_IF_ERROR(OptionalString(f, "atom_entry_id", where, mark.atom_entry_id));
      if (mark.node_id.empty()) return Bad(where + "no \"node_id\"");
      if (mark.watermark_seq > 0 && (mark.atom_page_url.empty() || mark.atom_entry_id.empty())) {
        return Bad(where + "a watermark after 0 needs \"atom_page_url\" and \"atom_entry_id\"");
      }
      manifest.has_fhirsync = true;
    }
  }
  return manifest;
}

std::string WriteBulkManifest(const BulkManifest& manifest) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Str(w, "transactionTime", manifest.transaction_time);
  Str(w, "request", manifest.request);
  w.Key("requiresAccessToken");
  w.Bool(manifest.requires_access_token);
  WriteFiles(w, "output", manifest.output);
  WriteFiles(w, "error", manifest.error);
  if (manifest.has_fhirsync) {
    const BulkFeedWatermark& mark = manifest.fhirsync;
    w.Key("extension");
    w.StartObject();
    w.Key("fhirsync");
    w.StartObject();
    Str(w, "node_id", mark.node_id);
    w.Key("watermark_seq");
    w.Int64(mark.watermark_seq);
    if (!mark.atom_page_url.empty()) Str(w, "atom_page_url", mark.atom_page_url);
    if (!mark.atom_entry_id.empty()) Str(w, "atom_entry_id", mark.atom_entry_id);
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace fhirsync
