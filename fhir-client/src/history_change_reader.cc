#include "fhirsync/fhir/history_change_reader.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync::fhir {
namespace {

// How far before the newest change seen the next `_since` starts, beyond
// flooring it to the second: a server that stamps lastUpdated before it
// commits can show a change a moment older than one already listed.
constexpr std::int64_t kOverlapMs = 1000;

// "Type/id/version" -> its lastUpdated (ms): versions already applied that
// the next overlapping window will list again.
using Seen = std::map<std::string, std::int64_t>;

// Where one walk unit (the system history, or one type's) stands between
// walks.
struct Unit {
  std::string since;  // empty: from the start
  Seen skip;
};

struct Position {
  bool legacy = false;  // read from a one-member form an earlier version wrote
  bool per_type = false;              // the server lists history per type only
  std::map<std::string, Unit> units;  // by type ("" for the system history)
  // A walk in progress: its unit, the next link (empty: the first page is
  // still to be asked) and what it saw near its newest change.
  bool walking = false;
  std::string unit;
  std::string next;
  std::int64_t newest_ms = 0;
  Seen recent;
};

void WriteSeen(rapidjson::Writer<rapidjson::StringBuffer>& w, const Seen& seen) {
  w.StartArray();
  for (const auto& [key, at] : seen) {
    w.StartArray();
    w.String(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.Int64(at);
    w.EndArray();
  }
  w.EndArray();
}

std::string Encode(const Position& p) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto string = [&w](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("mode");
  w.String(p.per_type ? "type" : "system");
  w.Key("units");
  w.StartObject();
  for (const auto& [name, unit] : p.units) {
    string(name);
    w.StartObject();
    w.Key("since");
    string(unit.since);
    w.Key("skip");
    WriteSeen(w, unit.skip);
    w.EndObject();
  }
  w.EndObject();
  if (p.walking) {
    w.Key("walk");
    w.StartObject();
    w.Key("unit");
    string(p.unit);
    w.Key("next");
    string(p.next);
    w.Key("newest");
    w.Int64(p.newest_ms);
    w.Key("recent");
    WriteSeen(w, p.recent);
    w.EndObject();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string Str(const rapidjson::Value& object, const char* name, bool* ok) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) {
    *ok = false;
    return std::string();
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

bool ReadSeen(const rapidjson::Value& object, const char* name, Seen* out) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsArray()) return false;
  for (const auto& pair : it->value.GetArray()) {
    if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsInt64()) {
      return false;
    }
    (*out)[std::string(pair[0].GetString(), pair[0].GetStringLength())] = pair[1].GetInt64();
  }
  return true;
}

StatusOr<Position> Decode(const std::string& text) {
  Position p;
  if (text.empty()) return p;
  auto bad = [&] {
    return InvalidArgumentError("'" + EscapeForMessage(text, 120) +
                                "' is not a FHIR _history position");
  };
  if (!CheckJsonDepth(text).ok()) return bad();
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad();
  bool ok = true;
  // The one-member forms an earlier version wrote: {"next": url} or
  // {"since": instant}, both of the system history.
  if (doc.MemberCount() == 1 && (doc.HasMember("next") || doc.HasMember("since"))) {
    const bool next = doc.HasMember("next");
    std::string value = Str(doc, next ? "next" : "since", &ok);
    if (!ok || value.empty() || (!next && !ParseInstant(value).ok())) return bad();
    p.legacy = true;
    if (next) {
      p.walking = true;
      p.next = std::move(value);
    } else {
      p.units[""].since = std::move(value);
    }
    return p;
  }
  const std::string mode = Str(doc, "mode", &ok);
  auto units = doc.FindMember("units");
  if (!ok || (mode != "type" && mode != "system") || units == doc.MemberEnd() ||
      !units->value.IsObject()) {
    return bad();
  }
  p.per_type = mode == "type";
  for (const auto& member : units->value.GetObject()) {
    if (!member.value.IsObject()) return bad();
    Unit unit;
    unit.since = Str(member.value, "since", &ok);
    if (!ok || (!unit.since.empty() && !ParseInstant(unit.since).ok()) ||
        !ReadSeen(member.value, "skip", &unit.skip)) {
      return bad();
    }
    p.units[std::string(member.name.GetString(), member.name.GetStringLength())] =
        std::move(unit);
  }
  if (auto walk = doc.FindMember("walk"); walk != doc.MemberEnd()) {
    if (!walk->value.IsObject()) return bad();
    p.walking = true;
    p.unit = Str(walk->value, "unit", &ok);
    p.next = Str(walk->value, "next", &ok);
    auto newest = walk->value.FindMember("newest");
    if (!ok || newest == walk->value.MemberEnd() || !newest->value.IsInt64() ||
        !ReadSeen(walk->value, "recent", &p.recent)) {
      return bad();
    }
    p.newest_ms = newest->value.GetInt64();
  }
  return p;
}

// The first instant the next walk asks for (_since), given the newest change
// a walk saw: that change's second, less the overlap. Servers compare
// `_since` at their own precision, often the second.
std::int64_t WindowStart(std::int64_t newest_ms) {
  const std::int64_t second = newest_ms - (((newest_ms % 1000) + 1000) % 1000);
  return second - kOverlapMs;
}

// "2026-01-01T10:00:04Z": a whole second, written without a fraction that
// a server reading only seconds might refuse.
std::string WholeSecond(std::int64_t epoch_ms) {
  std::string text = FormatInstant(epoch_ms);
  if (std::size_t dot = text.find(".000Z"); dot != std::string::npos) text.replace(dot, 5, "Z");
  return text;
}

void DropBefore(Seen& seen, std::int64_t start_ms) {
  for (auto it = seen.begin(); it != seen.end();) {
    it = it->second < start_ms ? seen.erase(it) : std::next(it);
  }
}

// A server without a system-level _history answers its first page so
// (FhirClient::HistoryPageAt).
bool MeansNoSystemHistory(const Status& status) {
  return status.code() == StatusCode::kUnimplemented;
}

}  // namespace

HistoryChangeReader::HistoryChangeReader(FhirClient* client, std::vector<std::string> types)
    : client_(client), types_(std::move(types)) {}

StatusOr<std::vector<std::string>> HistoryChangeReader::TypesToWalk() {
  if (!types_.empty()) return types_;
  if (!every_type_.empty()) return every_type_;
  StatusOr<FhirCapabilities> caps = client_->Capabilities();
  if (!caps.ok()) {
    return caps.status().WithContext("listing the types whose _history to walk");
  }
  for (const auto& [type, interactions] : caps->interactions) {
    if (interactions.count("history-type") > 0 && ValidateResourceType(type).ok()) {
      every_type_.push_back(type);
    }
  }
  if (every_type_.empty()) {
    return FailedPreconditionError(
        "its CapabilityStatement lists no type with the history-type interaction; name the "
        "types to follow (pull.types, init --types)");
  }
  return every_type_;
}

ChangePage HistoryChangeReader::ReadChanges(const std::string& since, int /*max_entries*/) {
  ChangePage out;
  out.next_position = since;
  StatusOr<Position> decoded = Decode(since);
  if (!decoded.ok()) {
    out.status = decoded.status();
    return out;
  }
  Position p = std::move(*decoded);
  // One type: its own history (which an earlier version also walked).
  if (since.empty() || (p.legacy && types_.size() == 1)) {
    p.per_type = types_.size() == 1;
    if (p.legacy && p.per_type) {
      p.unit = types_.front();
      if (auto legacy = p.units.find(""); legacy != p.units.end()) {
        p.units[types_.front()] = std::move(legacy->second);
        p.units.erase("");
      }
    }
  }
  // The walk units, in the order they are walked each round.
  std::vector<std::string> units{""};
  if (p.per_type) {
    StatusOr<std::vector<std::string>> types = TypesToWalk();
    if (!types.ok()) {
      out.status = types.status();
      return out;
    }
    units = std::move(*types);
  }
  if (!p.walking) {
    p.walking = true;
    p.unit = units.front();
    p.next.clear();
    p.newest_ms = 0;
    p.recent.clear();
  }
  if (std::find(units.begin(), units.end(), p.unit) == units.end()) {
    out.status = InvalidArgumentError("the _history position walks '" +
                                      EscapeForMessage(p.unit) +
                                      "', which this node does not subscribe to");
    return out;
  }

  StatusOr<HistoryPage> page = client_->HistoryPageAt(p.unit, p.units[p.unit].since, p.next);
  if (!page.ok() && !p.per_type && p.next.empty() && p.units[""].since.empty() &&
      MeansNoSystemHistory(page.status())) {
    // No system-level _history: walk each subscribed type's instead.
    StatusOr<std::vector<std::string>> types = TypesToWalk();
    if (!types.ok()) {
      out.status = Status(types.status().code(),
                          page.status().message() + " (this FHIR server has no system-level "
                          "_history, so each type's is walked: " + types.status().message() +
                          ")");
      return out;
    }
    p = Position();
    p.per_type = true;
    p.walking = true;
    units = std::move(*types);
    p.unit = units.front();
    page = client_->HistoryPageAt(p.unit, "", "");
  }
  if (!page.ok()) {
    out.status = page.status();
    return out;
  }

  Unit& unit = p.units[p.unit];
  const std::set<std::string> wanted(types_.begin(), types_.end());
  std::vector<std::pair<std::int64_t, ChangeEntry>> entries;
  for (HistoryEntry& entry : page->entries) {
    StatusOr<std::int64_t> updated = ParseInstant(entry.last_updated);
    const std::int64_t at = updated.ok() ? *updated : 0;
    const std::string key = entry.resource_type + "/" + entry.id + "/" + entry.version_id;
    // Listed again by the overlapping window: applied by the last walk.
    if (unit.skip.count(key) > 0) continue;
    if (updated.ok()) {
      p.newest_ms = std::max(p.newest_ms, at);
      p.recent[key] = at;
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
  // Only what the next window lists again needs remembering.
  if (p.newest_ms > 0) DropBefore(p.recent, WindowStart(p.newest_ms));
  // Oldest first, whatever order the server chose; equal times keep theirs.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  if (!page->next_url.empty()) {
    p.next = page->next_url;
    out.more = true;
  } else {
    // This unit's walk is over: the next one starts a little before its
    // newest change and skips what it saw from there on.
    if (p.newest_ms > 0) {
      const std::int64_t start = WindowStart(p.newest_ms);
      const std::string old_since = unit.since;
      Seen skip = std::move(unit.skip);
      skip.merge(p.recent);
      DropBefore(skip, start);
      const bool later = old_since.empty() || ParseInstant(old_since).value_or(0) < start;
      unit.since = later ? WholeSecond(start) : old_since;
      unit.skip = std::move(skip);
    }
    auto at = std::find(units.begin(), units.end(), p.unit);
    p.next.clear();
    p.newest_ms = 0;
    p.recent.clear();
    if (at + 1 != units.end()) {
      p.unit = *(at + 1);  // the round goes on with the next type
      out.more = true;
    } else {
      p.walking = false;
      p.unit.clear();
    }
  }
  out.next_position = Encode(p);
  for (auto& [at, change] : entries) {
    change.position = out.next_position;
    out.entries.push_back(std::move(change));
  }
  return out;
}

}  // namespace fhirsync::fhir
