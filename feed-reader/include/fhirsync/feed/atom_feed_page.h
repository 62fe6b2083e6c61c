// AtomFeedPage: one page of a node's Atom change feed as plain data.
//
// NodeServer (framework) decides what a page holds: which changes, which
// links, which ids. Writing the XML is the job of this target
// (fhirsync::feed::WriteAtomPage, atom_page_writer.h), which depends on
// fhirsync::base only; the server calls it (docs/architecture.md, "Layout
// and targets").
//
// Thread safety: plain values.

#ifndef FHIRSYNC_FEED_ATOM_FEED_PAGE_H_
#define FHIRSYNC_FEED_ATOM_FEED_PAGE_H_

#include <string>
#include <vector>

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

}  // namespace fhirsync

#endif  // FHIRSYNC_FEED_ATOM_FEED_PAGE_H_
