#include "store/poco_batch_storage.h"

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Statement.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <utility>

#include "fhirsync/local_store.h"
#include "fhirsync/resource.h"

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

}  // namespace

void PocoBatchStorage::LoadCurrent(const std::vector<ResourceKey>& keys,
                                   CurrentVersions& current) {
  rows_ = ChangeRows();  // what an abandoned chunk left
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

void PocoBatchStorage::Add(NewVersion& version) {
  if (version.queue_outbox) {
    rows_.outbox_seq.push_back(version.seq);
    rows_.outbox_correlation_id.push_back(std::move(version.correlation_id));
  }
  rows_.seq.push_back(version.seq);
  rows_.type.push_back(std::move(version.type));
  rows_.id.push_back(std::move(version.id));
  rows_.version.push_back(version.version);
  rows_.action.emplace_back(ChangeActionName(version.action));
  rows_.at_ms.push_back(version.at_ms);
  rows_.origin.push_back(std::move(version.origin));
  rows_.format.emplace_back(ResourceFormatName(version.format));
  rows_.deleted.push_back(version.deleted ? 1 : 0);
  rows_.content_hash.push_back(std::move(version.content_hash));
  rows_.body.push_back(std::move(version.body));
}

std::string PocoBatchStorage::OutboxJson(const ChangeRows& rows) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (std::size_t i = 0; i < rows.outbox_seq.size(); ++i) {
    writer.StartArray();
    writer.Int64(rows.outbox_seq[i]);
    WriteString(writer, rows.outbox_correlation_id[i]);
    writer.EndArray();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void PocoBatchStorage::Finish() {
  // Taken out first, so a failed statement leaves nothing behind for the
  // next chunk.
  ChangeRows rows = std::move(rows_);
  rows_ = ChangeRows();
  if (rows.seq.empty()) return;
  {
    // Bound once to the column vectors, compiled once, executed per row.
    Statement insert(session_);
    insert << sql_.insert_change, use(rows.seq), use(rows.type), use(rows.id),
        use(rows.version), use(rows.action), use(rows.at_ms), use(rows.origin),
        use(rows.format), use(rows.deleted), use(rows.content_hash), use(rows.body);
    insert.execute();
  }
  // The other two statements run once per batch and read what they need
  // from the rows just inserted.
  Poco::Int64 first = rows.seq.front();
  Poco::Int64 last = rows.seq.back();
  session_ << sql_.upsert_resources_from_changes, use(first), use(last), now;
  if (!rows.outbox_seq.empty()) {
    std::string pairs = OutboxJson(rows);
    session_ << sql_.insert_outbox_for_changes, use(pairs), now;
  }
}

}  // namespace fhirsync::store
