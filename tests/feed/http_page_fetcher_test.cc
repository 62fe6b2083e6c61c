// HttpPageFetcher against a real Poco HTTP server on 127.0.0.1 (port 0)
// serving the real OpenMRS/ICT4H pages, and with the navigator end to end.

#include "fhirsync/feed/http_page_fetcher.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhirsync/feed/atom_page_reader.h"
#include "fhirsync/feed/feed_navigator.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::feed {
namespace {

using ::fhirsync::testing::RecordedRequest;
using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

std::string ReadTestData(const std::string& name) {
  std::ifstream in(std::string(FHIRSYNC_TEST_DATA) + "/openmrs-atomfeed/" + name, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

HttpPageFetcherOptions Options(const ScriptedPeer& peer) {
  HttpPageFetcherOptions options;
  options.parent_url = peer.base_url("");
  options.username = "child";
  options.password = "secret";
  options.io_timeout_ms = 5000;
  return options;
}

// Fetches `url` through a reader, as the navigator does.
StatusOr<AtomPage> FetchPage(HttpPageFetcher& fetcher, const std::string& url,
                             FeedReaderLimits limits = {}, int* chunks = nullptr) {
  AtomPageReader reader(url, limits);
  Status fetched = fetcher.Fetch(url, [&](std::string_view chunk) {
    if (chunks != nullptr) ++*chunks;
    return reader.Append(chunk);
  });
  if (!fetched.ok()) return fetched;
  return reader.Finish();
}

TEST(HttpPageFetcherTest, StreamsARealPageWithAuthAndGzip) {
  ScriptedPeer peer;
  Reply page{200, ReadTestData("openmrs-patient-recent.xml"), {{"Content-Type", "application/atom+xml"}}};
  page.gzip = true;
  peer.Push(page);
  HttpPageFetcher fetcher(Options(peer));
  // The page's own links name www.example.com; only the path goes to the parent.
  auto read = FetchPage(fetcher, "http://www.example.com/openmrs/ws/atomfeed/patient/recent");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->entries.size(), 3u);
  EXPECT_EQ(read->entries[0].id, "tag:atomfeed.ict4h.org:6fdab6f5-2cd2-4207-b8bb-c2884d6179f6");
  EXPECT_EQ(read->info.via, "http://www.example.com/openmrs/ws/atomfeed/patient/32");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].uri, "/openmrs/ws/atomfeed/patient/recent");
  EXPECT_EQ(requests[0].headers["Authorization"], "Basic Y2hpbGQ6c2VjcmV0");  // child:secret
  EXPECT_EQ(requests[0].headers["Accept-Encoding"], "gzip");
}

TEST(HttpPageFetcherTest, ALargeChunkedPageArrivesInPiecesAndKeepAliveHolds) {
  // Derived from ict4h-requisition-status-archive-1.xml: its entry repeated
  // 2000 times with distinct ids.
  std::string sample = ReadTestData("ict4h-requisition-status-archive-1.xml");
  std::size_t first = sample.find("  <entry>");
  std::size_t last = sample.find("</feed>");
  std::string entry = sample.substr(first, sample.find("</entry>", first) + 9 - first);
  std::string big = sample.substr(0, first);
  for (int i = 0; i < 2000; ++i) {
    std::string copy = entry;
    copy.replace(copy.find("f4fa4edf"), 8, std::to_string(10000000 + i));
    big += copy;
  }
  big += sample.substr(last);
  ScriptedPeer peer;
  Reply chunked{200, big};
  chunked.chunked = true;
  peer.Push(chunked);
  peer.Push(Reply{200, sample});
  HttpPageFetcher fetcher(Options(peer));
  int chunks = 0;
  auto read = FetchPage(fetcher, peer.base_url("/feeds/requisition-status/1"), {}, &chunks);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->entries.size(), 2000u);
  EXPECT_GT(chunks, 1);
  auto again = FetchPage(fetcher, peer.base_url("/feeds/requisition-status/1"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(fetcher.connections_opened(), 1);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].client, requests[1].client);
}

TEST(HttpPageFetcherTest, HttpErrorsMapToStatusCodes) {
  ScriptedPeer peer;
  peer.Push(Reply{401, "no"});
  peer.Push(Reply{403, "no"});
  peer.Push(Reply{404, "no"});
  peer.Push(Reply{503, "later"});
  HttpPageFetcher fetcher(Options(peer));
  const std::string url = peer.base_url("/feed/recent");
  auto sink = [](std::string_view) { return Status::Ok(); };
  Status unauthenticated = fetcher.Fetch(url, sink);
  EXPECT_EQ(unauthenticated.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(unauthenticated.message(), HasSubstr("GET " + url + ": HTTP 401"));
  EXPECT_EQ(fetcher.Fetch(url, sink).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fetcher.Fetch(url, sink).code(), StatusCode::kNotFound);
  Status unavailable = fetcher.Fetch(url, sink);
  EXPECT_EQ(unavailable.code(), StatusCode::kUnavailable);
  EXPECT_THAT(unavailable.message(), HasSubstr("HTTP 503"));
}

TEST(HttpPageFetcherTest, CutStalledAndRefusedFetchesFail) {
  ScriptedPeer peer;
  std::string xml = ReadTestData("openmrs-patient-recent.xml");
  Reply cut{200, xml};
  cut.cut_after = 500;
  peer.Push(cut);
  Reply stall{200, xml};
  stall.stall_ms = 20000;  // released when the peer is torn down
  peer.Push(stall);
  HttpPageFetcherOptions options = Options(peer);
  options.io_timeout_ms = 300;
  HttpPageFetcher fetcher(options);
  const std::string url = peer.base_url("/feed/recent");
  std::size_t delivered = 0;
  auto sink = [&](std::string_view chunk) {
    delivered += chunk.size();
    return Status::Ok();
  };
  Status cut_status = fetcher.Fetch(url, sink);
  EXPECT_EQ(cut_status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(cut_status.message(),
              HasSubstr("response cut after 500 of " + std::to_string(xml.size()) + " bytes"));
  EXPECT_EQ(delivered, 500u);

  Status stalled = fetcher.Fetch(url, sink);
  EXPECT_EQ(stalled.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(stalled.message(), HasSubstr("timed out"));

  HttpPageFetcherOptions nowhere;
  nowhere.parent_url = "not a url at all";
  HttpPageFetcher broken(nowhere);
  Status invalid = broken.Fetch("http://x/feed/recent", sink);
  EXPECT_EQ(invalid.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.message(), HasSubstr("parent URL 'not a url at all' is not an http:// URL"));
}

TEST(HttpPageFetcherTest, GzipBombStopsAtThePageCap) {
  // 50 MB of spaces inside the feed compress to ~50 KB.
  std::string bomb = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>" +
                     std::string(50u * 1024u * 1024u, ' ') + "</title></feed>";
  ScriptedPeer peer;
  Reply gz{200, bomb};
  gz.gzip = true;
  peer.Push(gz);
  HttpPageFetcher fetcher(Options(peer));
  FeedReaderLimits limits;
  limits.max_page_bytes = 1024u * 1024u;
  auto read = FetchPage(fetcher, peer.base_url("/feed/recent"), limits);
  EXPECT_EQ(read.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(read.status().message(), HasSubstr("larger than the limit of 1048576 bytes"));
}

TEST(HttpPageFetcherTest, NavigatorWalksARealFeedOverHttp) {
  // The real ICT4H archive page 1 (next-archive: /2) and a derived page 2
  // served as recent too.
  std::string page1 = ReadTestData("ict4h-requisition-status-archive-1.xml");
  std::string page2 = page1;
  auto replace = [](std::string& text, const std::string& from, const std::string& to) {
    std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  const std::string base = "http://localhost:9091/feeds/requisition-status/";
  replace(page2, "href=\"" + base + "1\" />\n  <link rel=\"via\" type=\"application/atom+xml\" href=\"" +
                     base + "1\"",
          "href=\"" + base + "2\" />\n  <link rel=\"via\" type=\"application/atom+xml\" href=\"" +
              base + "2\"");
  replace(page2, "rel=\"next-archive\" type=\"application/atom+xml\" href=\"" + base + "2\"",
          "rel=\"prev-archive\" type=\"application/atom+xml\" href=\"" + base + "1\"");
  replace(page2, "f4fa4edf", "aaaaaaaa");
  replace(page2, "6364418f", "bbbbbbbb");

  ScriptedPeer peer;
  peer.Route([&](const RecordedRequest& request) {
    if (request.uri == "/feeds/requisition-status/recent" ||
        request.uri == "/feeds/requisition-status/2") {
      return Reply{200, page2};
    }
    if (request.uri == "/feeds/requisition-status/1") return Reply{200, page1};
    return Reply{404, "not here"};
  });
  HttpPageFetcher fetcher(Options(peer));
  FeedNavigator navigator(&fetcher, base + "recent");
  std::vector<std::string> ids;
  FeedCursor cursor;
  for (int step = 0; step < 5; ++step) {
    auto next = navigator.Next(cursor);
    ASSERT_TRUE(next.ok()) << next.status();
    for (const AtomEntry& entry : next->entries) ids.push_back(entry.id);
    cursor = next->cursor;
    if (next->at_head) break;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "tag:atomfeed.ict4h.org:f4fa4edf-60be-4b4b-abfc-624a0d32f3ca",
                     "tag:atomfeed.ict4h.org:6364418f-91dc-42d6-a108-36ef39e383c0",
                     "tag:atomfeed.ict4h.org:aaaaaaaa-60be-4b4b-abfc-624a0d32f3ca",
                     "tag:atomfeed.ict4h.org:bbbbbbbb-91dc-42d6-a108-36ef39e383c0"}));
  EXPECT_EQ(cursor.page_url, base + "2");
  EXPECT_EQ(fetcher.connections_opened(), 1);
}

}  // namespace
}  // namespace fhirsync::feed

namespace fhirsync::feed {
namespace {

// A parent that drips a page a byte at a time never trips the per-receive
// timeout; the fetch as a whole is cut off at its deadline, naming the key.
TEST(HttpPageFetcherLimitsTest, DrippingPageIsCutOffAtTheDeadline) {
  ScriptedPeer peer;
  Reply page{200, ReadTestData("openmrs-patient-recent.xml")};
  page.drip_ms = 50;
  peer.Push(page);
  HttpPageFetcherOptions options = Options(peer);
  options.request_deadline_ms = 1000;
  HttpPageFetcher fetcher(options);
  const auto start = std::chrono::steady_clock::now();
  Status status = fetcher.Fetch(peer.base_url("/feed/recent"),
                                [](std::string_view) { return Status::Ok(); });
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(status.message(), HasSubstr("no complete answer within the deadline of 1 s "
                                          "(parent.request_deadline_seconds)"));
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(HttpPageFetcherLimitsTest, PageOverTheCapIsRefusedNamingTheKey) {
  ScriptedPeer peer;
  peer.Push(Reply{200, std::string(100000, ' ') + ReadTestData("openmrs-patient-recent.xml")});
  HttpPageFetcherOptions options = Options(peer);
  options.max_page_bytes = 4096;
  HttpPageFetcher fetcher(options);
  std::size_t handed = 0;
  Status status = fetcher.Fetch(peer.base_url("/feed/recent"), [&](std::string_view chunk) {
    handed += chunk.size();
    return Status::Ok();
  });
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(),
              HasSubstr("larger than the limit of 4096 bytes (parent.max_answer_bytes)"));
  EXPECT_LE(handed, 4096u);
}

}  // namespace
}  // namespace fhirsync::feed
