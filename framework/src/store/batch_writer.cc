#include "store/batch_writer.h"

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Statement.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync::store {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

void BatchWriter::Prefetch(const std::vector<PreparedOp>& ops) {
  // A key named twice is looked up twice; the map keeps one answer.
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const PreparedOp& op : ops) {
    writer.StartArray();
    writer.String(op.op->type.data(), static_cast<rapidjson::SizeType>(op.op->type.size()));
    writer.String(op.id.data(), static_cast<rapidjson::SizeType>(op.id.size()));
    writer.EndArray();
  }
  writer.EndArray();
  std::string json(buffer.GetString(), buffer.GetSize());

  std::vector<std::string> types;
  std::vector<std::string> ids;
  std::vector<Poco::Int64> versions;
  std::vector<int> deleted;
  std::vector<Poco::Int64> last_updated;
  std::vector<std::string> hashes;
  session_ << sql_.select_current_many, use(json), into(types), into(ids), into(versions),
      into(deleted), into(last_updated), into(hashes), now;
  for (std::size_t i = 0; i < types.size(); ++i) {
    CurrentVersion current;
    current.version = versions[i];
    current.deleted = deleted[i] != 0;
    current.last_updated_ms = last_updated[i];
    current.content_hash = std::move(hashes[i]);
    current_.emplace(Key(std::move(types[i]), std::move(ids[i])), std::move(current));
  }
  prefetched_ = true;
}

StatusOr<std::optional<CurrentVersion>> BatchWriter::Current(const std::string& type,
                                                             const std::string& id) {
  if (!prefetched_) return InternalError("BatchWriter::Current before Prefetch");
  auto it = current_.find(Key(type, id));
  if (it == current_.end()) return std::optional<CurrentVersion>();
  return std::optional<CurrentVersion>(it->second);
}

Status BatchWriter::Append(NewVersion& version) {
  CurrentVersion& current = current_[Key(version.type, version.id)];
  current.version = version.version;
  current.deleted = version.deleted;
  current.last_updated_ms = version.at_ms;
  current.content_hash = version.content_hash;

  seq_.push_back(version.seq);
  type_.push_back(std::move(version.type));
  id_.push_back(std::move(version.id));
  version_.push_back(version.version);
  action_.emplace_back(ChangeActionName(version.action));
  at_ms_.push_back(version.at_ms);
  origin_.push_back(std::move(version.origin));
  format_.emplace_back(ResourceFormatName(version.format));
  deleted_.push_back(version.deleted ? 1 : 0);
  content_hash_.push_back(std::move(version.content_hash));
  body_.push_back(std::move(version.body));
  if (version.queue_outbox) {
    outbox_seq_.push_back(version.seq);
    // Made by the batch preparer (PrepareBatch); an op prepared alone has none.
    outbox_correlation_id_.push_back(version.correlation_id.empty()
                                         ? NewUuid()
                                         : std::move(version.correlation_id));
  }
  return Status::Ok();
}

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& writer, const std::string& text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

}  // namespace

std::string BatchWriter::ChangesJson() const {
  std::size_t bytes = 2;
  for (const std::string& body : body_) bytes += body.size() + body.size() / 8 + 200;
  rapidjson::StringBuffer buffer;
  buffer.Reserve(bytes);
  JsonWriter writer(buffer);
  writer.StartArray();
  for (std::size_t i = 0; i < seq_.size(); ++i) {
    writer.StartArray();
    writer.Int64(seq_[i]);
    WriteString(writer, type_[i]);
    WriteString(writer, id_[i]);
    writer.Int64(version_[i]);
    WriteString(writer, action_[i]);
    writer.Int64(at_ms_[i]);
    WriteString(writer, origin_[i]);
    WriteString(writer, format_[i]);
    writer.Int(deleted_[i]);
    WriteString(writer, content_hash_[i]);
    WriteString(writer, body_[i]);
    writer.EndArray();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string BatchWriter::OutboxJson() const {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartArray();
  for (std::size_t i = 0; i < outbox_seq_.size(); ++i) {
    writer.StartArray();
    writer.Int64(outbox_seq_[i]);
    WriteString(writer, outbox_correlation_id_[i]);
    writer.EndArray();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void BatchWriter::Flush() {
  if (seq_.empty()) return;
  if (sql_.changes_as_json) {
    std::string rows = ChangesJson();
    session_ << sql_.insert_change, use(rows), now;
  } else {
    // Bound once to the column vectors, compiled once, executed per row.
    Statement insert(session_);
    insert << sql_.insert_change, use(seq_), use(type_), use(id_), use(version_),
        use(action_), use(at_ms_), use(origin_), use(format_), use(deleted_),
        use(content_hash_), use(body_);
    insert.execute();
  }
  // The other two statements run once per batch and read what they need
  // from the rows just inserted: a statement executed per row costs far
  // more in Poco's binding than the database's work for a small row.
  Poco::Int64 first = seq_.front();
  Poco::Int64 last = seq_.back();
  session_ << sql_.upsert_resources_from_changes, use(first), use(last), now;
  if (!outbox_seq_.empty()) {
    std::string pairs = OutboxJson();
    session_ << sql_.insert_outbox_for_changes, use(pairs), now;
  }
}

}  // namespace fhirsync::store
