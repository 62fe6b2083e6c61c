// What the Atom feed reader hands out: the metadata of one feed page
// (RFC 5005 paging links, feed id, updated) and its entries, in the
// OpenMRS/ICT4H atomfeed layout (architecture §6).
//
// An entry carries two kinds of category: one names the resource type
// ("patient", "Patient"), the other, where the publisher writes one, names
// the action ("CREATED", "UPDATED", "DELETED" and the OpenMRS variants). The
// categories may come in any order; AtomEntry::action and
// AtomEntry::resource_type give the interpretation, `categories` the raw
// data.
//
// Thread safety: plain values.

#ifndef FHIRSYNC_FEED_ATOM_ENTRY_H_
#define FHIRSYNC_FEED_ATOM_ENTRY_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fhirsync::feed {

// What happened to the resource an entry points at.
enum class AtomAction {
  kUnknown,  // no category names an action (e.g. the ICT4H samples)
  kCreated,  // CREATED, CREATE, NEW
  // UPDATED, UPDATE, and the OpenMRS soft-delete family VOIDED, UNVOIDED,
  // RETIRED, UNRETIRED: the object still exists (its REST representation
  // carries the voided/retired flag), so a reader fetches it like an update.
  kUpdated,
  kDeleted,  // DELETED, DELETE, PURGED, PURGE: the object is gone
};
// "unknown", "created", "updated", "deleted"
std::string_view AtomActionName(AtomAction action);

// Maps a category term to an action, case-insensitively; kUnknown when the
// term names none (then it is a resource type or some other category).
AtomAction ClassifyActionTerm(std::string_view term);

struct AtomCategory {
  std::string term;
  std::string scheme;  // empty when the publisher writes none
};

// How the text of <content> was interpreted.
enum class AtomContentKind {
  kNone,          // no <content>, or empty
  kUrl,           // one URL (absolute, or a path like /openmrs/ws/rest/v1/...); also <content src>
  kClientUrlMap,  // a JSON object of client name to URL: {"fhir": "...", "rest": "..."}
  kJsonPayload,   // any other JSON value: the data itself
};
// "none", "url", "client-url-map", "json-payload"
std::string_view AtomContentKindName(AtomContentKind kind);

struct AtomEntry {
  std::string id;         // "tag:atomfeed.ict4h.org:6fdab6f5-..."
  std::string title;      // "Patient"
  std::string updated;    // as written, "2018-01-17T19:44:40Z"
  std::string published;  // as written; empty when absent
  std::vector<AtomCategory> categories;  // in document order

  AtomAction action = AtomAction::kUnknown;
  std::string action_term;    // the category term that gave `action`, as written
  std::string resource_type;  // term of the first category that names no action

  std::string content_type;  // the type attribute, "application/vnd.atomfeed+xml"
  AtomContentKind content_kind = AtomContentKind::kNone;
  std::string content;       // the content text (CDATA unwrapped), trimmed
  std::string url;           // kUrl: the URL (src attribute or text)
  std::map<std::string, std::string> client_urls;  // kClientUrlMap: client name -> URL
};

// The page-level data of one Atom page. Link targets are resolved against the
// page's own URL (given by the caller), so a relative href comes out absolute.
struct AtomPageInfo {
  std::string title;
  std::string id;       // the feed id, "bec795b1-...+32"
  std::string updated;  // as written
  std::string self;     // rel="self"
  std::string via;      // rel="via": the stable (numbered) URL of a `recent` page
  std::string first;    // rel="first"
  std::string last;     // rel="last"
  std::string prev_archive;  // rel="prev-archive" (older)
  std::string next_archive;  // rel="next-archive" (newer)
};

// A whole page, collected by the reader (bounded by FeedReaderLimits).
struct AtomPage {
  AtomPageInfo info;
  std::vector<AtomEntry> entries;  // in document order (oldest first in atomfeed)
};

// The caps that keep a hostile or broken page from exhausting the node.
struct FeedReaderLimits {
  std::size_t max_page_bytes = 8u * 1024u * 1024u;  // bytes of XML per page
  int max_depth = 16;                               // element nesting (Atom needs 4)
  std::size_t max_entries = 10000;                  // entries per page
  std::size_t max_text_bytes = 4u * 1024u * 1024u;  // text of one element (content)
};

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_ATOM_ENTRY_H_
