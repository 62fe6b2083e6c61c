#include "store/poco_batch_storage.h"

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Statement.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

namespace fhirsync::store {
namespace {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& writer, const std::string& text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// [[type, id], ...]
std::string KeysJson(const std::vector<ResourceKey>& keys) {
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

// [[seq, correlation id], ...] of the outbox rows.
std::string OutboxJson(const ChangeRows& rows) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (std::size_t i = 0; i < rows.outbox_row.size(); ++i) {
    writer.StartArray();
    writer.Int64(rows.seq[rows.outbox_row[i]]);
    WriteString(writer, rows.outbox_correlation_id[i]);
    writer.EndArray();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

void PocoBatchStorage::LoadCurrent(const std::vector<ResourceKey>& keys,
                                   CurrentVersions& current) {
  std::string json = KeysJson(keys);
  std::vector<std::string> types;
  std::vector<std::string> ids;
  std::vector<Poco::Int64> versions;
  std::vector<int> deleted;
  std::vector<Poco::Int64> last_updated;
  std::vector<std::string> hashes;
  session_ << sql_.select_current_many, use(json), into(types), into(ids), into(versions),
      into(deleted), into(last_updated), into(hashes), now;
  for (std::size_t i = 0; i < types.size(); ++i) {
    CurrentVersion one;
    one.version = versions[i];
    one.deleted = deleted[i] != 0;
    one.last_updated_ms = last_updated[i];
    one.content_hash = std::move(hashes[i]);
    current.emplace(ResourceKey(std::move(types[i]), std::move(ids[i])), std::move(one));
  }
}

void PocoBatchStorage::WriteRows(ChangeRows& rows) {
  {
    ChangeRows& bound = rows;
    // Bound once to the column vectors, compiled once, executed per row.
    Statement insert(session_);
    insert << sql_.insert_change, use(bound.seq), use(bound.type), use(bound.id),
        use(bound.version), use(bound.action), use(bound.at_ms), use(bound.origin),
        use(bound.format), use(bound.deleted), use(bound.content_hash), use(bound.body);
    insert.execute();
  }
  // The other two statements run once per batch and read what they need
  // from the rows just inserted.
  Poco::Int64 first = rows.seq.front();
  Poco::Int64 last = rows.seq.back();
  session_ << sql_.upsert_resources_from_changes, use(first), use(last), now;
  if (!rows.outbox_row.empty()) {
    std::string pairs = OutboxJson(rows);
    session_ << sql_.insert_outbox_for_changes, use(pairs), now;
  }
}

}  // namespace fhirsync::store
