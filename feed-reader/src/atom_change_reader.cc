#include "fhirsync/feed/atom_change_reader.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>
#include <vector>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::feed {
namespace {

// The path segments of a URL or path, without scheme, host and query.
std::vector<std::string> PathSegments(std::string url) {
  const std::size_t query = url.find_first_of("?#");
  if (query != std::string::npos) url.resize(query);
  const std::size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    const std::size_t path = url.find('/', scheme + 3);
    url = path == std::string::npos ? std::string() : url.substr(path);
  }
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= url.size()) {
    std::size_t end = url.find('/', start);
    if (end == std::string::npos) end = url.size();
    if (end > start) segments.push_back(url.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

ChangeAction ActionOf(AtomAction action) {
  switch (action) {
    case AtomAction::kCreated: return ChangeAction::kCreate;
    case AtomAction::kDeleted: return ChangeAction::kDelete;
    default: return ChangeAction::kUpdate;
  }
}

}  // namespace

std::optional<ChangeEntry> ChangeEntryFromAtom(const AtomEntry& entry) {
  std::string url;
  ResourceFormat format = ResourceFormat::kFhirJson;
  if (auto fhir = entry.client_urls.find("fhir"); fhir != entry.client_urls.end()) {
    url = fhir->second;
  } else if (auto rest = entry.client_urls.find("rest"); rest != entry.client_urls.end()) {
    url = rest->second;
    format = ResourceFormat::kOpenmrsRest;
  } else if (entry.content_kind == AtomContentKind::kUrl) {
    url = entry.url;
  }
  if (url.empty()) return std::nullopt;
  std::vector<std::string> segments = PathSegments(url);
  ChangeEntry change;
  change.action = ActionOf(entry.action);
  std::size_t history = segments.size();
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (segments[i] == "_history") history = i;
  }
  if (history < segments.size()) {
    if (history < 2 || history + 1 >= segments.size()) return std::nullopt;
    change.resource.type = segments[history - 2];
    change.resource.id = segments[history - 1];
    change.resource.version = segments[history + 1];
  } else {
    if (segments.size() < 2) return std::nullopt;
    change.resource.type = segments[segments.size() - 2];
    change.resource.id = segments.back();
  }
  std::optional<ResourceFormat> implied = FormatOfType(change.resource.type);
  if (!implied.has_value()) return std::nullopt;
  if (url == entry.url && entry.client_urls.empty()) format = *implied;
  if (*implied != format) return std::nullopt;
  if (!ValidateId(change.resource.id).ok()) return std::nullopt;
  change.resource.format = format;
  // When the parent made the change: what `status` measures pull lag by.
  if (StatusOr<std::int64_t> at = ParseInstant(entry.updated); at.ok()) {
    change.resource.last_updated_ms = *at;
  }
  return change;
}

std::string EncodeFeedPosition(const FeedCursor& cursor) {
  if (cursor.empty()) return std::string();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("page");
  w.String(cursor.page_url.data(), static_cast<rapidjson::SizeType>(cursor.page_url.size()));
  w.Key("last");
  w.String(cursor.last_entry_id.data(),
           static_cast<rapidjson::SizeType>(cursor.last_entry_id.size()));
  w.Key("back");
  w.Bool(cursor.walking_back);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<FeedCursor> DecodeFeedPosition(const std::string& position) {
  if (position.empty()) return FeedCursor{};
  auto bad = [&] {
    return InvalidArgumentError("'" + EscapeForMessage(position, 120) +
                                "' is not an Atom feed position");
  };
  if (!CheckJsonDepth(position).ok()) return bad();
  rapidjson::Document doc;
  doc.Parse(position.data(), position.size());
  if (doc.HasParseError() || !doc.IsObject()) return bad();
  auto page = doc.FindMember("page");
  auto last = doc.FindMember("last");
  auto back = doc.FindMember("back");
  if (page == doc.MemberEnd() || !page->value.IsString() || last == doc.MemberEnd() ||
      !last->value.IsString() || back == doc.MemberEnd() || !back->value.IsBool() ||
      page->value.GetStringLength() == 0) {
    return bad();
  }
  return FeedCursor{std::string(page->value.GetString(), page->value.GetStringLength()),
                    std::string(last->value.GetString(), last->value.GetStringLength()),
                    back->value.GetBool()};
}

AtomChangeReader::AtomChangeReader(FeedPageFetcher* fetcher, std::string recent_url,
                                   FeedNavigatorOptions options)
    : navigator_(fetcher, std::move(recent_url), options) {}

ChangePage AtomChangeReader::ReadChanges(const std::string& since, int max_entries) {
  ChangePage out;
  StatusOr<FeedCursor> decoded = DecodeFeedPosition(since);
  if (!decoded.ok()) {
    out.status = decoded.status();
    return out;
  }
  const std::size_t max = max_entries < 1 ? 1 : static_cast<std::size_t>(max_entries);
  FeedCursor cursor = *decoded;
  bool restarted = false;
  std::size_t taken = 0;  // feed entries consumed, named or not
  while (taken < max) {
    StatusOr<FeedStep> step = navigator_.Next(cursor);
    if (!step.ok()) {
      if (step.status().code() == StatusCode::kNotFound && !cursor.empty() && !restarted) {
        // The position's page is gone: the parent renumbered its pages.
        cursor = FeedCursor{};
        restarted = true;
        out.entries.clear();
        taken = 0;
        continue;
      }
      if (taken > 0) break;  // hand over what was read; the error recurs next time
      out.status = step.status();
      out.next_position = since;
      return out;
    }
    if (step->rewound && !restarted) {
      cursor = FeedCursor{};
      restarted = true;
      out.entries.clear();
      taken = 0;
      continue;
    }
    const std::size_t room = max - taken;
    const std::size_t use = std::min(room, step->entries.size());
    for (std::size_t i = 0; i < use; ++i) {
      std::optional<ChangeEntry> change = ChangeEntryFromAtom(step->entries[i]);
      if (!change) continue;
      change->position =
          EncodeFeedPosition(FeedCursor{step->cursor.page_url, step->entries[i].id, false});
      out.entries.push_back(std::move(*change));
    }
    taken += use;
    if (use < step->entries.size()) {
      cursor = FeedCursor{step->cursor.page_url, step->entries[use - 1].id, false};
      out.more = true;
      break;
    }
    cursor = step->cursor;
    if (step->at_head) {
      out.more = false;
      break;
    }
    out.more = true;
    // A step without entries moved through pages (a first run walking back,
    // or empty pages): hand the progress over so it is stored.
    if (step->entries.empty()) break;
  }
  out.next_position = EncodeFeedPosition(cursor);
  return out;
}

}  // namespace fhirsync::feed
