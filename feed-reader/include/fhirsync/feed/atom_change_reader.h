// AtomChangeReader: a parent's Atom change feed (OpenMRS/ICT4H layout) as
// the plain ChangePage values a transport plugin's ReadChanges() returns.
//
// Each feed entry names one resource through its content: a JSON map of
// client name to URL ({"fhir": "/fhir/Patient/1/_history/2"} or {"rest":
// "/ws/rest/v1/patient/<uuid>?v=full"}) or a plain URL. The reader turns it
// into (type, id, version where the URL has one, action); the caller fetches
// the bodies, batched. Entries that name no resource are stepped over (their
// position is still passed, so they are not read again).
//
// Positions are FeedNavigator cursors written as a small JSON object; they
// name pages by their stable URL, and only the path of that URL is used
// (HttpPageFetcher talks to the configured parent origin), so a parent that
// moves to a new address keeps the child's place. When the parent has
// rewritten the page a position names (a changed page size: the page is
// gone, or no longer holds the position's entry), the reader starts again
// from the oldest page instead of skipping what moved: re-reading is
// harmless where applying is idempotent, losing changes is not.
//
// Thread safety: ReadChanges() may be called from one thread at a time.
// The fetcher must outlive the reader.

#ifndef FHIRSYNC_FEED_ATOM_CHANGE_READER_H_
#define FHIRSYNC_FEED_ATOM_CHANGE_READER_H_

#include <optional>
#include <string>

#include "fhirsync/feed/atom_entry.h"
#include "fhirsync/feed/feed_navigator.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/status.h"

namespace fhirsync::feed {

class AtomChangeReader {
 public:
  // `recent_url` is the feed's newest page, with any type filter
  // ("http://parent/feed/recent?types=Patient,Observation"). `fetcher` is
  // borrowed.
  AtomChangeReader(FeedPageFetcher* fetcher, std::string recent_url,
                   FeedNavigatorOptions options = {});

  // Up to `max_entries` entries after position `since` (empty: from the
  // oldest). The page's status carries the fetcher's or reader's error
  // (nothing is returned then and the caller's position stays);
  // InvalidArgument when `since` is not a position this reader wrote.
  ChangePage ReadChanges(const std::string& since, int max_entries);

 private:
  FeedNavigator navigator_;
};

// The resource an entry names, or nullopt when its content names none.
std::optional<ChangeEntry> ChangeEntryFromAtom(const AtomEntry& entry);

// A cursor as a position string and back. DecodeFeedPosition: empty text is
// the empty cursor; InvalidArgument for anything EncodeFeedPosition did not
// write.
std::string EncodeFeedPosition(const FeedCursor& cursor);
StatusOr<FeedCursor> DecodeFeedPosition(const std::string& position);

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_ATOM_CHANGE_READER_H_
