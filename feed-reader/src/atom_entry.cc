// Interpretation of Atom entry categories (action vs. resource type) and of
// the atomfeed <content> text (URL, client URL map, JSON payload).

#include "fhirsync/feed/atom_entry.h"

#include <algorithm>
#include <cctype>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "entry_interpretation.h"

namespace fhirsync::feed {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view text) {
  const char* kSpace = " \t\r\n";
  std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

// An absolute URL ("https://host/...") or an absolute path ("/openmrs/ws/...")
// with no whitespace or control characters: what atomfeed publishers put in
// content and in client URL maps.
bool LooksLikeUrl(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  if (text.front() == '/') return true;
  std::size_t colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(text.front()))) return false;
  return std::all_of(text.begin(), text.begin() + colon, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

}  // namespace

std::string_view AtomActionName(AtomAction action) {
  switch (action) {
    case AtomAction::kCreated: return "created";
    case AtomAction::kUpdated: return "updated";
    case AtomAction::kDeleted: return "deleted";
    case AtomAction::kUnknown: break;
  }
  return "unknown";
}

std::string_view AtomContentKindName(AtomContentKind kind) {
  switch (kind) {
    case AtomContentKind::kUrl: return "url";
    case AtomContentKind::kClientUrlMap: return "client-url-map";
    case AtomContentKind::kJsonPayload: return "json-payload";
    case AtomContentKind::kNone: break;
  }
  return "none";
}

AtomAction ClassifyActionTerm(std::string_view term) {
  term = Trim(term);
  for (std::string_view created : {"CREATED", "CREATE", "NEW"}) {
    if (EqualsIgnoreCase(term, created)) return AtomAction::kCreated;
  }
  for (std::string_view updated :
       {"UPDATED", "UPDATE", "VOIDED", "UNVOIDED", "RETIRED", "UNRETIRED"}) {
    if (EqualsIgnoreCase(term, updated)) return AtomAction::kUpdated;
  }
  for (std::string_view deleted : {"DELETED", "DELETE", "PURGED", "PURGE"}) {
    if (EqualsIgnoreCase(term, deleted)) return AtomAction::kDeleted;
  }
  return AtomAction::kUnknown;
}

void InterpretCategories(AtomEntry& entry) {
  entry.action = AtomAction::kUnknown;
  entry.action_term.clear();
  entry.resource_type.clear();
  for (const AtomCategory& category : entry.categories) {
    AtomAction action = ClassifyActionTerm(category.term);
    if (action != AtomAction::kUnknown && entry.action == AtomAction::kUnknown) {
      entry.action = action;
      entry.action_term = category.term;
    } else if (action == AtomAction::kUnknown && entry.resource_type.empty()) {
      entry.resource_type = std::string(Trim(category.term));
    }
  }
}

Status InterpretContent(AtomEntry& entry, std::string_view src) {
  entry.content_kind = AtomContentKind::kNone;
  entry.url.clear();
  entry.client_urls.clear();
  entry.content = std::string(Trim(entry.content));
  if (!src.empty()) {
    // Out-of-line content (RFC 4287 §4.1.3.2): the resource is at `src`.
    if (!LooksLikeUrl(Trim(src))) {
      return InvalidArgumentError("content src is not a URL: '" + EscapeForMessage(src) + "'");
    }
    entry.content_kind = AtomContentKind::kUrl;
    entry.url = std::string(Trim(src));
    return Status::Ok();
  }
  const std::string& text = entry.content;
  if (text.empty()) return Status::Ok();
  if (text.front() == '{' || text.front() == '[') {
    // Iterative parsing, and the depth checked first: the payload is handed
    // on to readers that recurse.
    FHIRSYNC_RETURN_IF_ERROR(CheckJsonDepth(text, kMaxJsonAnswerDepth, "content"));
    rapidjson::Document json;
    json.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (json.HasParseError()) {
      return InvalidArgumentError(std::string("content is not valid JSON: ") +
                                  rapidjson::GetParseError_En(json.GetParseError()) +
                                  " (at byte " + std::to_string(json.GetErrorOffset()) + ")");
    }
    bool is_url_map = json.IsObject() && json.MemberCount() > 0;
    if (is_url_map) {
      for (const auto& member : json.GetObject()) {
        if (!member.value.IsString() ||
            !LooksLikeUrl({member.value.GetString(), member.value.GetStringLength()})) {
          is_url_map = false;
          break;
        }
      }
    }
    if (is_url_map) {
      entry.content_kind = AtomContentKind::kClientUrlMap;
      for (const auto& member : json.GetObject()) {
        entry.client_urls.emplace(
            std::string(member.name.GetString(), member.name.GetStringLength()),
            std::string(member.value.GetString(), member.value.GetStringLength()));
      }
    } else {
      entry.content_kind = AtomContentKind::kJsonPayload;
    }
    return Status::Ok();
  }
  if (LooksLikeUrl(text)) {
    entry.content_kind = AtomContentKind::kUrl;
    entry.url = text;
    return Status::Ok();
  }
  return InvalidArgumentError("content is neither a URL nor JSON: '" + EscapeForMessage(text) +
                              "'");
}

}  // namespace fhirsync::feed
