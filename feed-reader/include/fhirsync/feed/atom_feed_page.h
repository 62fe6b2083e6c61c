// AtomFeedPage: one page of a node's Atom change feed as plain data, and the
// renderer interface that turns it into XML.
//
// NodeServer (framework) decides what a page holds: which changes, which
// links, which ids. Writing the XML is the job of this target
// (fhirsync::feed::WriteAtomPage), which depends on fhirsync::base only; the
// framework depends on it. NodeServer still receives the renderer as a
// function (NodeServer::Options::atom_renderer), a leftover of the time the
// arrow ran the other way (docs/architecture.md, "Layout and targets").
//
// Thread safety: plain values. A renderer is called from several server
// threads at once and must be thread-safe.

#ifndef FHIRSYNC_FEED_ATOM_FEED_PAGE_H_
#define FHIRSYNC_FEED_ATOM_FEED_PAGE_H_

#include <functional>
#include <string>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync {

// <link rel="..." type="application/atom+xml" href="..."/>
struct AtomFeedLink {
  std::string rel;   // "self", "via", "first", "prev-archive", "next-archive"
  std::string href;
};

// One <entry>.
struct AtomFeedEntry {
  std::string id;       // "tag:atomfeed.ict4h.org:<uuid>", stable for ever
  std::string title;    // the resource type
  std::string updated;  // RFC 3339 instant of the change
  // One <category term="..."/> each: the resource type, then the action
  // ("CREATED", "UPDATED", "DELETED").
  std::vector<std::string> categories;
  // Text written as CDATA inside
  // <content type="application/vnd.atomfeed+xml">; a JSON map of client name
  // to URL ({"fhir": "/fhir/Patient/1/_history/2"}).
  std::string content;
};

// One <feed>.
struct AtomFeedPage {
  std::string id;         // "<node id>+<page number>", as OpenMRS writes it
  std::string title;
  std::string updated;    // RFC 3339; the newest change the page covers
  std::string author;     // <author><name>
  std::string generator;  // <generator uri="..."> text
  std::string generator_uri;
  std::vector<AtomFeedLink> links;
  std::vector<AtomFeedEntry> entries;
};

// Turns a page into a complete XML document (UTF-8). Returns an error only if
// the XML writer fails (e.g. out of memory); content that needs escaping or
// contains "]]>" must be handled by the renderer.
using AtomPageRenderer = std::function<StatusOr<std::string>(const AtomFeedPage& page)>;

}  // namespace fhirsync

#endif  // FHIRSYNC_FEED_ATOM_FEED_PAGE_H_
