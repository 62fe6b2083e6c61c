// FeedNavigator: walks a paged Atom change feed (RFC 5005 archives in the
// OpenMRS/ICT4H layout) from a durable cursor, one page per step, so that a
// caller can apply each page and the advanced cursor in one transaction.
//
// The feed: `recent` is the newest page; each page links to its older
// neighbour with prev-archive and to its newer one with next-archive; a
// `recent` page also names its own stable, numbered URL with `via`. Archive
// pages never change; the page behind `via` only grows until it is full.
//
// The walk:
//   - Forward: from the cursor's page, the entries after the cursor's last
//     entry id; when there are none, on through next-archive until a page
//     has new entries or the newest page is reached (no next-archive).
//   - First run (empty cursor): fetch `recent`; where it has a `first` link,
//     start there. Otherwise walk back once through prev-archive to the
//     oldest page. The walk is itself recorded in the cursor (walking_back)
//     every max_walk_back_pages_per_step pages, so an interrupted first run
//     resumes where it got to instead of walking back again (the OpenMRS
//     Sync 2.0 client walks every archive backwards on every fresh start).
//   - Cursors name pages by their stable URL (`via`, else `self`, else the
//     URL fetched), never `recent`, so the position survives new pages.
//   - If the cursor's last entry id is not on its page (the parent changed
//     its page size, so page numbers moved), the navigator looks for it
//     through prev-archive (up to max_relocate_pages) and goes on after it;
//     not found, it delivers the cursor's page and the ones after it again:
//     applying is idempotent, losing changes is not.
// On any error (fetch, malformed page, link loop) Next() returns it and no
// entries: the caller keeps its cursor where it was.
//
// Thread safety: a navigator is used by one thread at a time; it holds no
// state between calls other than its configuration (the cursor is the
// caller's). The fetcher must outlive the navigator.

#ifndef FHIRSYNC_FEED_FEED_NAVIGATOR_H_
#define FHIRSYNC_FEED_FEED_NAVIGATOR_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/feed/atom_entry.h"
#include "fhirsync/status.h"

namespace fhirsync::feed {

// Gets the bytes of a feed page. An HTTP implementation streams the body
// into `sink` chunk by chunk as it arrives; an in-memory one calls it once.
class FeedPageFetcher {
 public:
  using ChunkSink = std::function<Status(std::string_view chunk)>;
  virtual ~FeedPageFetcher() = default;

  // Fetches `url`, passing the body to `sink`. Returns the transport error
  // (kUnavailable, kDeadlineExceeded, kNotFound, kUnauthenticated, ...) or
  // the first non-OK status `sink` returned (then the fetch stops).
  virtual Status Fetch(const std::string& url, const ChunkSink& sink) = 0;
};

// Where a reader is in the feed; stored durably by the caller (keyed by the
// parent's node id) in the transaction that applies the entries before it.
struct FeedCursor {
  std::string page_url;       // stable URL of a page; empty = never started
  std::string last_entry_id;  // last entry applied from page_url; empty = none yet
  bool walking_back = false;  // first run still looking for the oldest page (page_url)

  bool empty() const { return page_url.empty(); }
  friend bool operator==(const FeedCursor&, const FeedCursor&) = default;
};

// What one Next() step yields.
struct FeedStep {
  std::vector<AtomEntry> entries;  // new entries, oldest first; may be empty
  AtomPageInfo page;               // the page they came from (the last page fetched)
  FeedCursor cursor;               // store this with the entries, in one transaction
  bool at_head = false;            // the newest page was reached and has nothing new
  // The cursor's last entry id was not on its page: the publisher rewrote
  // the page (e.g. changed its page size), so `entries` is the whole page and
  // entries between the cursor and this page may have been skipped. A
  // caller that must not miss changes restarts from an empty cursor
  // (re-reading is harmless where applying is idempotent).
  bool rewound = false;
};

struct FeedNavigatorOptions {
  FeedReaderLimits limits;
  // Pages walked back (first run) before Next() returns to let the caller
  // record progress.
  std::size_t max_walk_back_pages_per_step = 50;
  // Pages without new entries skipped forward in one Next() call.
  std::size_t max_forward_pages_per_step = 50;
  // Pages searched back for a cursor entry that is no longer on its page.
  std::size_t max_relocate_pages = 1000;
};

class FeedNavigator {
 public:
  // `recent_url` is the feed's newest page (".../feed/patient/recent").
  // `fetcher` is not owned and must outlive the navigator.
  FeedNavigator(FeedPageFetcher* fetcher, std::string recent_url,
                FeedNavigatorOptions options = {});

  // One step from `cursor` (see the file comment). Returns the fetcher's
  // error, the reader's error for a malformed page (it names the page and
  // position), or InvalidArgument when page links form a loop. The step's
  // cursor equals the given one when nothing moved (at_head).
  StatusOr<FeedStep> Next(const FeedCursor& cursor) const;

 private:
  StatusOr<AtomPage> Load(const std::string& url) const;
  StatusOr<FeedStep> WalkBack(std::string from_url, AtomPage page) const;
  StatusOr<FeedStep> Forward(const std::string& url, AtomPage page,
                             const std::string& last_entry_id) const;

  FeedPageFetcher* const fetcher_;
  const std::string recent_url_;
  const FeedNavigatorOptions options_;
};

// The URL a cursor should name `page` by: via, else self, else `fetched_url`.
std::string StablePageUrl(const AtomPageInfo& page, const std::string& fetched_url);

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_FEED_NAVIGATOR_H_
