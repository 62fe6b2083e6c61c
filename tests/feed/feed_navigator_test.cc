// FeedNavigator over an in-memory fetcher. The pages are built in the layout
// of shared/testdata/openmrs-atomfeed/openmrs-patient-recent.xml (same
// elements, links, id scheme and content), numbered like the real feed:
// `recent` is a copy of the newest numbered page with self=recent, via=N.

#include "fhirsync/feed/feed_navigator.h"

#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fhirsync::feed {
namespace {

using ::testing::HasSubstr;

constexpr char kBase[] = "http://parent:8080/openmrs/ws/atomfeed/patient/";

std::string PageUrl(int number) { return kBase + std::to_string(number); }
std::string RecentUrl() { return std::string(kBase) + "recent"; }
std::string EntryId(int page, int index) {
  return "tag:atomfeed.ict4h.org:00000000-0000-4000-8000-" + std::to_string(100000 + page) +
         std::to_string(100000 + index);
}

// Entries of one page, and the page XML in the OpenMRS Feed Publisher layout.
struct PageSpec {
  int number = 0;
  int entries = 0;
  bool has_prev = false;
  bool has_next = false;
  std::string first;  // rel="first" href, if any
};

std::string BuildPage(const PageSpec& spec, bool as_recent) {
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <title>Patient AOP</title>\n";
  auto link = [&](const char* rel, const std::string& href) {
    xml << "  <link rel=\"" << rel << "\" type=\"application/atom+xml\" href=\"" << href
        << "\" />\n";
  };
  link("self", as_recent ? RecentUrl() : PageUrl(spec.number));
  link("via", PageUrl(spec.number));
  if (!spec.first.empty()) link("first", spec.first);
  if (spec.has_prev) link("prev-archive", PageUrl(spec.number - 1));
  if (spec.has_next) link("next-archive", PageUrl(spec.number + 1));
  xml << "  <author>\n    <name>OpenMRS</name>\n  </author>\n"
      << "  <id>bec795b1-3d17-451d-b43e-a094019f6984+" << spec.number << "</id>\n"
      << "  <generator uri=\"https://github.com/ICT4H/atomfeed\">OpenMRS Feed Publisher</generator>\n"
      << "  <updated>2018-04-26T10:56:10Z</updated>\n";
  for (int i = 0; i < spec.entries; ++i) {
    xml << "  <entry>\n    <title>Patient</title>\n    <category term=\"patient\" />\n"
        << "    <id>" << EntryId(spec.number, i) << "</id>\n"
        << "    <updated>2018-01-17T19:44:40Z</updated>\n"
        << "    <published>2018-01-17T19:44:40Z</published>\n"
        << "    <content type=\"application/vnd.atomfeed+xml\"><![CDATA[/openmrs/ws/rest/v1/"
        << "patient/e8aa08f6-86cd-42f9-8924-" << 100000000000 + spec.number * 100 + i
        << "?v=full]]></content>\n  </entry>\n";
  }
  xml << "</feed>\n";
  return xml.str();
}

class InMemoryFetcher : public FeedPageFetcher {
 public:
  Status Fetch(const std::string& url, const ChunkSink& sink) override {
    fetched.push_back(url);
    auto failure = failures.find(url);
    if (failure != failures.end()) return failure->second;
    auto page = pages.find(url);
    if (page == pages.end()) return NotFoundError("HTTP 404 for " + url);
    // Deliver in small chunks, as a network body arrives.
    std::string_view body = page->second;
    while (!body.empty()) {
      FHIRSYNC_RETURN_IF_ERROR(sink(body.substr(0, 97)));
      body.remove_prefix(std::min<std::size_t>(97, body.size()));
    }
    return Status::Ok();
  }

  // A feed of `count` pages (1 = oldest) with `per_page` entries each, the
  // newest holding `last_entries`.
  void BuildFeed(int count, int per_page, int last_entries, std::string first = "") {
    pages.clear();
    for (int n = 1; n <= count; ++n) {
      PageSpec spec{n, n == count ? last_entries : per_page, n > 1, n < count, first};
      pages[PageUrl(n)] = BuildPage(spec, false);
      if (n == count) pages[RecentUrl()] = BuildPage(spec, true);
    }
  }

  std::map<std::string, std::string> pages;
  std::map<std::string, Status> failures;
  std::vector<std::string> fetched;
};

std::vector<std::string> Ids(const FeedStep& step) {
  std::vector<std::string> ids;
  for (const AtomEntry& entry : step.entries) ids.push_back(entry.id);
  return ids;
}

std::vector<std::string> PageIds(int page, int from, int to) {
  std::vector<std::string> ids;
  for (int i = from; i < to; ++i) ids.push_back(EntryId(page, i));
  return ids;
}

TEST(FeedNavigatorTest, FirstRunWalksBackOnceThenReadsForwardToRecent) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(/*count=*/3, /*per_page=*/5, /*last_entries=*/2);
  FeedNavigator navigator(&fetcher, RecentUrl());

  auto step = navigator.Next(FeedCursor{});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(fetcher.fetched, (std::vector<std::string>{RecentUrl(), PageUrl(2), PageUrl(1)}));
  EXPECT_EQ(Ids(*step), PageIds(1, 0, 5));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(1), EntryId(1, 4), false}));
  EXPECT_FALSE(step->at_head);
  EXPECT_EQ(step->entries[0].resource_type, "patient");
  EXPECT_EQ(step->entries[0].content_kind, AtomContentKind::kUrl);

  fetcher.fetched.clear();
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  // The cursor's page is re-read (it may have grown), then next-archive.
  EXPECT_EQ(fetcher.fetched, (std::vector<std::string>{PageUrl(1), PageUrl(2)}));
  EXPECT_EQ(Ids(*step), PageIds(2, 0, 5));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(2), EntryId(2, 4), false}));

  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(3, 0, 2));
  // Named by its stable number (via), never by "recent".
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(3), EntryId(3, 1), false}));

  FeedCursor head = step->cursor;
  fetcher.fetched.clear();
  step = navigator.Next(head);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->entries.empty());
  EXPECT_TRUE(step->at_head);
  EXPECT_EQ(step->cursor, head);
  EXPECT_EQ(fetcher.fetched, (std::vector<std::string>{PageUrl(3)}));

  // The publisher appends two entries to page 3: only those come next.
  fetcher.BuildFeed(3, 5, 4);
  step = navigator.Next(head);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(3, 2, 4));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(3), EntryId(3, 3), false}));

  // Page 3 fills up and page 4 becomes recent: on through next-archive.
  FeedCursor before = step->cursor;
  fetcher.BuildFeed(4, 5, 1);
  step = navigator.Next(before);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(3, 4, 5));
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(4, 0, 1));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(4), EntryId(4, 0), false}));
}

TEST(FeedNavigatorTest, FirstRunStartsAtFirstLinkWithoutWalkingBack) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(6, 5, 3, /*first=*/PageUrl(1));
  FeedNavigator navigator(&fetcher, RecentUrl());
  auto step = navigator.Next(FeedCursor{});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(fetcher.fetched, (std::vector<std::string>{RecentUrl(), PageUrl(1)}));
  EXPECT_EQ(Ids(*step), PageIds(1, 0, 5));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(1), EntryId(1, 4), false}));
}

TEST(FeedNavigatorTest, SinglePageFeedStartsAtRecent) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(1, 5, 3);
  FeedNavigator navigator(&fetcher, RecentUrl());
  auto step = navigator.Next(FeedCursor{});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(1, 0, 3));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(1), EntryId(1, 2), false}));
  EXPECT_EQ(fetcher.fetched.size(), 1u);
}

TEST(FeedNavigatorTest, InterruptedWalkBackResumesWhereItGotTo) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(7, 2, 1);
  FeedNavigatorOptions options;
  options.max_walk_back_pages_per_step = 2;
  FeedNavigator navigator(&fetcher, RecentUrl(), options);

  auto step = navigator.Next(FeedCursor{});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->entries.empty());
  EXPECT_FALSE(step->at_head);
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(5), "", true}));
  EXPECT_EQ(fetcher.fetched, (std::vector<std::string>{RecentUrl(), PageUrl(6), PageUrl(5)}));

  // The caller stored that cursor and crashed; the restart goes on from 5.
  fetcher.fetched.clear();
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(3), "", true}));
  EXPECT_EQ(fetcher.fetched, (std::vector<std::string>{PageUrl(5), PageUrl(4), PageUrl(3)}));

  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(1, 0, 2));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(1), EntryId(1, 1), false}));
}

TEST(FeedNavigatorTest, EmptyPagesAreSkippedAFewAtATimeWithProgressRecorded) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(6, /*per_page=*/0, /*last_entries=*/2);
  FeedNavigatorOptions options;
  options.max_forward_pages_per_step = 2;
  FeedNavigator navigator(&fetcher, RecentUrl(), options);
  auto step = navigator.Next(FeedCursor{PageUrl(1), "", false});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->entries.empty());
  EXPECT_FALSE(step->at_head);
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(3), "", false}));
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(5), "", false}));
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(6, 0, 2));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(6), EntryId(6, 1), false}));
}

// A feed of `total` entries with ids seq-1..seq-total, `page_size` a page,
// as a parent serves it before and after a change of its page size.
void BuildSequentialFeed(InMemoryFetcher& fetcher, int total, int page_size) {
  fetcher.pages.clear();
  int count = (total + page_size - 1) / page_size;
  for (int n = 1; n <= count; ++n) {
    int entries = std::min(page_size, total - (n - 1) * page_size);
    std::string xml = BuildPage(PageSpec{n, entries, n > 1, n < count, ""}, false);
    for (int i = 0; i < entries; ++i) {
      std::string id = EntryId(n, i);
      xml.replace(xml.find(id), id.size(), "seq-" + std::to_string((n - 1) * page_size + i + 1));
    }
    fetcher.pages[PageUrl(n)] = xml;
    if (n == count) {
      std::string self = "rel=\"self\" type=\"application/atom+xml\" href=\"" + PageUrl(n);
      std::string recent = xml;
      recent.replace(recent.find(self), self.size(),
                     "rel=\"self\" type=\"application/atom+xml\" href=\"" + RecentUrl());
      fetcher.pages[RecentUrl()] = recent;
    }
  }
}

std::set<std::string> DrainIds(const FeedNavigator& navigator, FeedCursor cursor) {
  std::set<std::string> ids;
  for (int step = 0; step < 50; ++step) {
    auto next = navigator.Next(cursor);
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok()) break;
    for (const AtomEntry& entry : next->entries) ids.insert(entry.id);
    cursor = next->cursor;
    if (next->at_head) break;
  }
  return ids;
}

std::set<std::string> SeqIds(int from, int to) {
  std::set<std::string> ids;
  for (int i = from; i <= to; ++i) ids.insert("seq-" + std::to_string(i));
  return ids;
}

TEST(FeedNavigatorTest, LargerPageSizeOnTheParentLosesNothing) {
  InMemoryFetcher fetcher;
  BuildSequentialFeed(fetcher, 20, 3);
  FeedNavigator navigator(&fetcher, RecentUrl());
  // The child applied up to seq-10, on page 4 (seq-10..12).
  FeedCursor cursor{PageUrl(4), "seq-10", false};
  BuildSequentialFeed(fetcher, 20, 6);  // seq-10 is now on page 2
  auto step = navigator.Next(cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  std::vector<std::string> first_ids = Ids(*step);
  EXPECT_EQ(first_ids, (std::vector<std::string>{"seq-11", "seq-12"}));
  EXPECT_EQ(step->cursor, (FeedCursor{PageUrl(2), "seq-12", false}));
  std::set<std::string> rest = DrainIds(navigator, step->cursor);
  EXPECT_EQ(rest, SeqIds(13, 20));
}

TEST(FeedNavigatorTest, SmallerPageSizeOnTheParentRedeliversButLosesNothing) {
  InMemoryFetcher fetcher;
  FeedNavigator navigator(&fetcher, RecentUrl());
  BuildSequentialFeed(fetcher, 20, 3);  // seq-10 is on page 4 (seq-10..12)
  FeedCursor cursor{PageUrl(2), "seq-10", false};
  // Before: page size 6, seq-10 on page 2. Now page 2 holds seq-4..6.
  std::set<std::string> ids = DrainIds(navigator, cursor);
  for (const std::string& id : SeqIds(11, 20)) EXPECT_EQ(ids.count(id), 1u) << id;
}

TEST(FeedNavigatorTest, UnknownLastEntryRedeliversThePage) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(2, 3, 3);
  FeedNavigator navigator(&fetcher, RecentUrl());
  auto step = navigator.Next(FeedCursor{PageUrl(2), "tag:atomfeed.ict4h.org:not-there", false});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(Ids(*step), PageIds(2, 0, 3));
  EXPECT_TRUE(step->rewound);
  // A known last entry is no rewind.
  auto next = navigator.Next(FeedCursor{PageUrl(1), EntryId(1, 0), false});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->rewound);
}

TEST(FeedNavigatorTest, FetchErrorIsReturnedAndNamesThePage) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(3, 5, 2);
  fetcher.failures[PageUrl(2)] = UnavailableError("connection refused");
  FeedNavigator navigator(&fetcher, RecentUrl());
  auto step = navigator.Next(FeedCursor{PageUrl(1), EntryId(1, 4), false});
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(step.status().message(), HasSubstr("fetching feed page '" + PageUrl(2) + "'"));
  EXPECT_THAT(step.status().message(), HasSubstr("connection refused"));
}

TEST(FeedNavigatorTest, HostilePageStopsTheWalkWithTheReadersError) {
  InMemoryFetcher fetcher;
  fetcher.BuildFeed(3, 5, 2);
  fetcher.pages[PageUrl(2)] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE feed [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
      "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>&xxe;</title></feed>";
  FeedNavigator navigator(&fetcher, RecentUrl());
  auto step = navigator.Next(FeedCursor{PageUrl(1), EntryId(1, 4), false});
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(step.status().message(), HasSubstr("feed page '" + PageUrl(2) + "' line 2"));
  EXPECT_THAT(step.status().message(), HasSubstr("DOCTYPE"));

  std::string truncated = fetcher.pages[PageUrl(3)];
  fetcher.pages[PageUrl(3)] = truncated.substr(0, truncated.size() / 2);
  auto cut = navigator.Next(FeedCursor{PageUrl(3), EntryId(3, 0), false});
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(cut.status().message(), HasSubstr("feed page '" + PageUrl(3) + "'"));
}

TEST(FeedNavigatorTest, LinkLoopsAreRefused) {
  InMemoryFetcher fetcher;
  // Page 2 is empty and its next-archive leads back to page 1... which leads to 2.
  PageSpec one{1, 0, false, true, ""};
  PageSpec two{2, 0, false, false, ""};
  fetcher.pages[PageUrl(1)] = BuildPage(one, false);
  std::string looping = BuildPage(two, false);
  std::string via = "<link rel=\"via\" type=\"application/atom+xml\" href=\"" + PageUrl(2) + "\" />";
  looping.replace(looping.find(via), via.size(),
                  via + "\n  <link rel=\"next-archive\" href=\"" + PageUrl(1) + "\" />");
  fetcher.pages[PageUrl(2)] = looping;
  FeedNavigator navigator(&fetcher, RecentUrl());
  auto step = navigator.Next(FeedCursor{PageUrl(1), "", false});
  EXPECT_EQ(step.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(step.status().message(),
              HasSubstr("feed links loop: next-archive leads back to feed page '" + PageUrl(1)));

  // The same for a walk back: recent's prev-archive is itself.
  std::string recent = BuildPage(PageSpec{5, 1, true, false, ""}, true);
  std::string prev = "href=\"" + PageUrl(4) + "\"";
  recent.replace(recent.find(prev), prev.size(), "href=\"" + PageUrl(5) + "\"");
  fetcher.pages[RecentUrl()] = recent;
  fetcher.pages[PageUrl(5)] = recent;
  auto back = navigator.Next(FeedCursor{});
  EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(back.status().message(), HasSubstr("prev-archive leads back to feed page"));
}

// The real OpenMRS recent page, with a derived page 31 behind it.
TEST(FeedNavigatorTest, WalksBackFromTheRealOpenmrsRecentPage) {
  std::ifstream in(std::string(FHIRSYNC_TEST_DATA) + "/openmrs-atomfeed/openmrs-patient-recent.xml");
  std::stringstream real;
  real << in.rdbuf();
  const std::string base = "http://www.example.com/openmrs/ws/atomfeed/patient/";
  InMemoryFetcher fetcher;
  fetcher.pages[base + "recent"] = real.str();
  fetcher.pages[base + "32"] = real.str();
  std::string page31 = real.str();
  auto replace = [](std::string& text, const std::string& from, const std::string& to) {
    std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, from.size(), to);
  };
  replace(page31, "href=\"" + base + "recent\"", "href=\"" + base + "31\"");
  replace(page31, "href=\"" + base + "32\"", "href=\"" + base + "31\"");
  replace(page31, "rel=\"prev-archive\" type=\"application/atom+xml\" href=\"" + base + "31\"",
          "rel=\"next-archive\" type=\"application/atom+xml\" href=\"" + base + "32\"");
  replace(page31, "6fdab6f5-2cd2-4207-b8bb-c2884d6179f6", "0a0a0a0a-2cd2-4207-b8bb-c2884d6179f6");
  replace(page31, "5c6b6913-94a0-4f08-96a2-6b84dbced26e", "0b0b0b0b-94a0-4f08-96a2-6b84dbced26e");
  replace(page31, "299c435d-b3b4-4e89-8188-6d972169c13d", "0c0c0c0c-b3b4-4e89-8188-6d972169c13d");
  fetcher.pages[base + "31"] = page31;

  FeedNavigator navigator(&fetcher, base + "recent");
  auto step = navigator.Next(FeedCursor{});
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_EQ(step->entries.size(), 3u);
  EXPECT_EQ(step->entries[0].id, "tag:atomfeed.ict4h.org:0a0a0a0a-2cd2-4207-b8bb-c2884d6179f6");
  EXPECT_EQ(step->cursor.page_url, base + "31");
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_EQ(step->entries.size(), 3u);
  EXPECT_EQ(step->entries[2].id, "tag:atomfeed.ict4h.org:299c435d-b3b4-4e89-8188-6d972169c13d");
  EXPECT_EQ(step->cursor,
            (FeedCursor{base + "32", "tag:atomfeed.ict4h.org:299c435d-b3b4-4e89-8188-6d972169c13d",
                        false}));
  step = navigator.Next(step->cursor);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->at_head);
  EXPECT_TRUE(step->entries.empty());
}

}  // namespace
}  // namespace fhirsync::feed
