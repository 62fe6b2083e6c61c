// FeedNavigator: the paging logic, independent of HTTP (see the header).

#include "fhirsync/feed/feed_navigator.h"

#include <set>
#include <utility>

#include "fhirsync/base/text_util.h"
#include "fhirsync/feed/atom_page_reader.h"

namespace fhirsync::feed {
namespace {

Status LinkLoop(const std::string& rel, const std::string& url) {
  return InvalidArgumentError("feed links loop: " + rel + " leads back to feed page '" +
                              EscapeForMessage(url, 200) + "'");
}

bool HasEntry(const AtomPage& page, const std::string& id) {
  for (const AtomEntry& entry : page.entries) {
    if (entry.id == id) return true;
  }
  return false;
}

}  // namespace

std::string StablePageUrl(const AtomPageInfo& page, const std::string& fetched_url) {
  if (!page.via.empty()) return page.via;
  if (!page.self.empty()) return page.self;
  return fetched_url;
}

FeedNavigator::FeedNavigator(FeedPageFetcher* fetcher, std::string recent_url,
                             FeedNavigatorOptions options)
    : fetcher_(fetcher), recent_url_(std::move(recent_url)), options_(options) {}

StatusOr<AtomPage> FeedNavigator::Load(const std::string& url) const {
  AtomPageReader reader(url, options_.limits);
  bool reader_failed = false;
  Status fetched = fetcher_->Fetch(url, [&](std::string_view chunk) {
    Status appended = reader.Append(chunk);
    if (!appended.ok()) reader_failed = true;
    return appended;
  });
  if (!fetched.ok()) {
    // The reader's errors already name the page; a transport error may not.
    if (reader_failed) return fetched;
    return fetched.WithContext("fetching feed page '" + EscapeForMessage(url, 200) + "'");
  }
  return reader.Finish();
}

StatusOr<FeedStep> FeedNavigator::Next(const FeedCursor& cursor) const {
  if (cursor.empty()) {
    FHIRSYNC_ASSIGN_OR_RETURN(AtomPage recent, Load(recent_url_));
    std::string recent_stable = StablePageUrl(recent.info, recent_url_);
    if (!recent.info.first.empty() && recent.info.first != recent_stable &&
        recent.info.first != recent_url_) {
      FHIRSYNC_ASSIGN_OR_RETURN(AtomPage first, Load(recent.info.first));
      return Forward(recent.info.first, std::move(first), "");
    }
    if (!recent.info.first.empty() || recent.info.prev_archive.empty()) {
      return Forward(recent_url_, std::move(recent), "");  // recent is the oldest page
    }
    return WalkBack(recent_url_, std::move(recent));
  }
  FHIRSYNC_ASSIGN_OR_RETURN(AtomPage page, Load(cursor.page_url));
  if (cursor.walking_back) return WalkBack(cursor.page_url, std::move(page));
  return Forward(cursor.page_url, std::move(page), cursor.last_entry_id);
}

StatusOr<FeedStep> FeedNavigator::WalkBack(std::string url, AtomPage page) const {
  std::set<std::string> visited{url, StablePageUrl(page.info, url)};
  for (std::size_t walked = 0;; ++walked) {
    if (page.info.prev_archive.empty()) return Forward(url, std::move(page), "");
    if (walked >= options_.max_walk_back_pages_per_step) {
      FeedStep step;
      step.cursor = FeedCursor{StablePageUrl(page.info, url), "", /*walking_back=*/true};
      step.page = std::move(page.info);
      return step;
    }
    url = page.info.prev_archive;
    if (!visited.insert(url).second) return LinkLoop("prev-archive", url);
    FHIRSYNC_ASSIGN_OR_RETURN(page, Load(url));
    visited.insert(StablePageUrl(page.info, url));
  }
}

StatusOr<FeedStep> FeedNavigator::Forward(const std::string& first_url, AtomPage page,
                                          const std::string& last_entry_id) const {
  std::string url = first_url;
  std::string last_id = last_entry_id;
  std::set<std::string> visited{url};
  if (!last_id.empty() && !HasEntry(page, last_id)) {
    // The cursor's entry is not on its page: the parent re-paged its feed
    // (a larger page size moves old entries to lower page numbers). Look
    // back for it; if it is not found it lies further on (a smaller page
    // size), and delivering this page and the next ones again loses nothing.
    std::string back_url = page.info.prev_archive;
    for (std::size_t i = 0; i < options_.max_relocate_pages && !back_url.empty(); ++i) {
      if (!visited.insert(back_url).second) return LinkLoop("prev-archive", back_url);
      FHIRSYNC_ASSIGN_OR_RETURN(AtomPage back, Load(back_url));
      if (HasEntry(back, last_id)) {
        url = back_url;
        page = std::move(back);
        break;
      }
      back_url = back.info.prev_archive;
    }
  }
  for (std::size_t skipped = 0;; ++skipped) {
    std::size_t start = 0;
    bool rewound = false;
    if (!last_id.empty()) {
      rewound = !page.entries.empty();
      for (std::size_t i = 0; i < page.entries.size(); ++i) {
        if (page.entries[i].id == last_id) {
          start = i + 1;
          rewound = false;
          break;
        }
      }
      // start == 0 here means the id is not on the page: deliver it all again.
    }
    FeedStep step;
    std::string stable = StablePageUrl(page.info, url);
    if (start < page.entries.size()) {
      step.entries.assign(std::make_move_iterator(page.entries.begin() + start),
                          std::make_move_iterator(page.entries.end()));
      step.cursor = FeedCursor{stable, step.entries.back().id, false};
      step.page = std::move(page.info);
      step.rewound = rewound;
      return step;
    }
    // Nothing new here: the cursor stays at this page's last entry.
    std::string here_last = page.entries.empty() ? last_id : page.entries.back().id;
    if (page.info.next_archive.empty() || skipped >= options_.max_forward_pages_per_step) {
      step.cursor = FeedCursor{stable, here_last, false};
      step.at_head = page.info.next_archive.empty();
      step.page = std::move(page.info);
      return step;
    }
    url = page.info.next_archive;
    if (!visited.insert(url).second) return LinkLoop("next-archive", url);
    FHIRSYNC_ASSIGN_OR_RETURN(page, Load(url));
    last_id.clear();
  }
}

}  // namespace fhirsync::feed
