// Where a change sits in the node's Atom feed (internal): the page URLs and
// entry ids the feed handler writes, in one place so that a snapshot's
// manifest names the watermark exactly as the feed's own links do
// (docs/snapshot.md).
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_SERVER_FEED_POSITION_H_
#define FHIRSYNC_SERVER_FEED_POSITION_H_

#include <cstdint>
#include <set>
#include <string>

namespace fhirsync::server {

// A name-based (SHA-1, version 5) UUID of node id + seq, as an Atom entry
// id: the same change always gets the same id, on every render and after a
// restart.
std::string EntryId(const std::string& node_id, std::int64_t seq);

// "?types=A,B" for a feed filtered to `types` (sorted, as a std::set keeps
// them, so the same filter always gives the same URLs); "" for no filter.
std::string FeedTypesQuery(const std::set<std::string>& types);

// base_url + "/feed/" + name + types_query, e.g. "http://h:1/feed/7?types=Patient".
std::string PageUrl(const std::string& base_url, const std::string& name,
                    const std::string& types_query);

// The page number holding change `seq` (>= 1) at `page_size` changes a page.
std::int64_t FeedPageOf(std::int64_t seq, std::int64_t page_size);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_FEED_POSITION_H_
