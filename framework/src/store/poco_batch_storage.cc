#include "store/poco_batch_storage.h"

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "fhirsync/local_store.h"
#include "fhirsync/resource.h"

namespace fhirsync::store {
namespace {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& writer, std::string_view text) {
  // An empty view may have no data pointer; RapidJSON wants one.
  writer.String(text.empty() ? "" : text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// [[type, id], ...]
std::string KeysJson(std::span<const ResourceKey> keys) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (const ResourceKey& key : keys) {
    writer.StartArray();
    WriteString(writer, key.first);
    WriteString(writer, key.second);
    writer.EndArray();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

void PocoBatchStorage::LoadCurrent(std::span<const ResourceKey> keys,
                                   CurrentVersions& current) {
  Reset();  // what an abandoned chunk left
  std::string json = KeysJson(keys);
  std::vector<std::string> types;
  std::vector<std::string> ids;
  std::vector<Poco::Int64> versions;
  std::vector<int> deleted;
  std::vector<Poco::Int64> last_updated;
  std::vector<std::string> hashes;
  session_ << sql_.select_current_many, use(json), into(types), into(ids), into(versions),
      into(deleted), into(last_updated), into(hashes), now;
  const std::unordered_set<ResourceKey, ResourceKeyHash> asked_keys(keys.begin(), keys.end());
  for (std::size_t i = 0; i < types.size(); ++i) {
    CurrentVersion one;
    one.version = versions[i];
    one.deleted = deleted[i] != 0;
    one.last_updated_ms = last_updated[i];
    one.content_hash = std::move(hashes[i]);
    // Keyed by the caller's views, which outlive this call; the rows' own
    // strings do not.
    auto asked = asked_keys.find(ResourceKey(types[i], ids[i]));
    if (asked == asked_keys.end()) continue;
    current.emplace(*asked, std::move(one));
  }
}

void PocoBatchStorage::Reset() {
  changes_json_.Clear();
  changes_writer_.Reset(changes_json_);
  changes_writer_.StartArray();
  outbox_json_.Clear();
  outbox_writer_.Reset(outbox_json_);
  outbox_writer_.StartArray();
  first_seq_ = 0;
  last_seq_ = 0;
  has_outbox_ = false;
}

void PocoBatchStorage::Add(const NewVersion& version) {
  if (first_seq_ == 0) first_seq_ = version.seq;
  last_seq_ = version.seq;
  JsonWriter& row = changes_writer_;
  row.StartObject();
  row.Key("seq");
  row.Int64(version.seq);
  row.Key("type");
  WriteString(row, version.type);
  row.Key("id");
  WriteString(row, version.id);
  row.Key("version");
  row.Int64(version.version);
  row.Key("action");
  WriteString(row, ChangeActionName(version.action));
  row.Key("at_ms");
  row.Int64(version.at_ms);
  row.Key("origin");
  WriteString(row, version.origin);
  row.Key("format");
  WriteString(row, ResourceFormatName(version.format));
  row.Key("deleted");
  row.Int(version.deleted ? 1 : 0);
  row.Key("content_hash");
  WriteString(row, version.content_hash);
  row.Key("body");
  WriteString(row, version.body);
  row.EndObject();
  if (version.queue_outbox) {
    outbox_writer_.StartArray();
    outbox_writer_.Int64(version.seq);
    WriteString(outbox_writer_, version.correlation_id);
    outbox_writer_.EndArray();
    has_outbox_ = true;
  }
}

void PocoBatchStorage::Finish() {
  if (first_seq_ == 0) return;
  changes_writer_.EndArray();
  outbox_writer_.EndArray();
  std::string rows(changes_json_.GetString(), changes_json_.GetSize());
  std::string pairs(outbox_json_.GetString(), outbox_json_.GetSize());
  Poco::Int64 first = first_seq_;
  Poco::Int64 last = last_seq_;
  const bool has_outbox = has_outbox_;
  // Forgotten first, so a failed statement leaves nothing for the next chunk.
  Reset();
  session_ << sql_.insert_changes_json, use(rows), now;
  // The other two read what they need from the rows just inserted.
  session_ << sql_.upsert_resources_from_changes, use(first), use(last), now;
  if (has_outbox) session_ << sql_.insert_outbox_for_changes, use(pairs), now;
}

}  // namespace fhirsync::store
