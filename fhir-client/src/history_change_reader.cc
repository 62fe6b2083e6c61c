#include "fhirsync/fhir/history_change_reader.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <set>
#include <utility>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync::fhir {
namespace {

struct Position {
  std::string next;   // a next link to follow
  std::string since;  // else: ask with _since (empty: from the start)
};

std::string Encode(const Position& position) {
  if (position.next.empty() && position.since.empty()) return std::string();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  const bool next = !position.next.empty();
  w.Key(next ? "next" : "since");
  const std::string& value = next ? position.next : position.since;
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<Position> Decode(const std::string& text) {
  Position position;
  if (text.empty()) return position;
  auto bad = [&] {
    return InvalidArgumentError("'" + EscapeForMessage(text, 120) +
                                "' is not a FHIR _history position");
  };
  if (!CheckJsonDepth(text).ok()) return bad();
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject() || doc.MemberCount() != 1) return bad();
  const auto& member = *doc.MemberBegin();
  if (!member.value.IsString() || member.value.GetStringLength() == 0) return bad();
  std::string value(member.value.GetString(), member.value.GetStringLength());
  const std::string name = member.name.GetString();
  if (name == "next") {
    position.next = std::move(value);
  } else if (name == "since" && ParseInstant(value).ok()) {
    position.since = std::move(value);
  } else {
    return bad();
  }
  return position;
}

}  // namespace

HistoryChangeReader::HistoryChangeReader(FhirClient* client, std::vector<std::string> types)
    : client_(client), types_(std::move(types)) {}

ChangePage HistoryChangeReader::ReadChanges(const std::string& since, int /*max_entries*/) {
  ChangePage out;
  StatusOr<Position> position = Decode(since);
  if (!position.ok()) {
    out.status = position.status();
    return out;
  }
  const std::string type = types_.size() == 1 ? types_.front() : std::string();
  StatusOr<HistoryPage> page = client_->HistoryPageAt(type, position->since, position->next);
  if (!page.ok()) {
    out.status = page.status();
    out.next_position = since;
    return out;
  }
  const std::set<std::string> wanted(types_.begin(), types_.end());
  std::vector<std::pair<std::int64_t, ChangeEntry>> entries;
  std::int64_t newest_ms = 0;
  std::string newest_text = position->since;
  for (HistoryEntry& entry : page->entries) {
    StatusOr<std::int64_t> updated = ParseInstant(entry.last_updated);
    const std::int64_t at = updated.ok() ? *updated : 0;
    if (updated.ok() && at >= newest_ms) {
      newest_ms = at;
      newest_text = entry.last_updated;
    }
    if (!wanted.empty() && wanted.count(entry.resource_type) == 0) continue;
    ChangeEntry change;
    change.action = entry.deleted              ? ChangeAction::kDelete
                    : entry.method == "POST"   ? ChangeAction::kCreate
                                               : ChangeAction::kUpdate;
    change.resource.type = std::move(entry.resource_type);
    change.resource.id = std::move(entry.id);
    change.resource.version = std::move(entry.version_id);
    change.resource.last_updated_ms = at;
    change.resource.deleted = entry.deleted;
    change.resource.body = std::move(entry.body);
    change.has_body = true;
    entries.emplace_back(at, std::move(change));
  }
  // Oldest first, whatever order the server chose; equal times keep theirs.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Position next;
  if (!page->next_url.empty()) {
    next.next = page->next_url;
    out.more = true;
  } else if (newest_ms > 0) {
    next.since = newest_text;  // _since is inclusive: re-reads the newest, harmlessly
  } else {
    next = *position;  // nothing new: stay where we were
  }
  out.next_position = Encode(next);
  for (auto& [at, change] : entries) {
    change.position = out.next_position;
    out.entries.push_back(std::move(change));
  }
  return out;
}

}  // namespace fhirsync::fhir
