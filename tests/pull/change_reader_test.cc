// The change sources: AtomChangeReader over an in-memory paged feed (written
// by the real page writer, renumbered like a parent changing its page size),
// and HistoryChangeReader against a scripted FHIR server.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fhirsync/feed/atom_change_reader.h"
#include "fhirsync/feed/atom_page_writer.h"
#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/fhir/history_change_reader.h"
#include "support/scripted_http_peer.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

constexpr char kBase[] = "http://parent:8080";

// A parent's feed in memory: `changes` split into pages of `page_size`, the
// way NodeServer numbers them; pages can be renumbered at any time.
class PagedFeed : public feed::FeedPageFetcher {
 public:
  void Add(const std::string& type, const std::string& id, int version, const char* action) {
    changes_.push_back({type, id, version, action});
  }
  void set_page_size(int size) { page_size_ = size; }

  Status Fetch(const std::string& url, const ChunkSink& sink) override {
    fetched.push_back(url);
    if (!hostile.empty()) return sink(hostile);
    const int count = static_cast<int>(changes_.size());
    const int newest = std::max(1, (count + page_size_ - 1) / page_size_);
    const std::string name = url.substr(url.rfind('/') + 1);
    const int n = name == "recent" ? newest : std::stoi(name);
    if (n > newest) return Status(StatusCode::kNotFound, "GET " + url + ": HTTP 404");
    AtomFeedPage page;
    page.id = "parent+" + std::to_string(n);
    page.title = "changes";
    page.updated = "2026-01-01T00:00:00Z";
    auto link = [](int k) { return std::string(kBase) + "/feed/" + std::to_string(k); };
    page.links.push_back({"self", name == "recent" ? std::string(kBase) + "/feed/recent" : link(n)});
    page.links.push_back({"via", link(n)});
    page.links.push_back({"first", link(1)});
    if (n > 1) page.links.push_back({"prev-archive", link(n - 1)});
    if (n < newest) page.links.push_back({"next-archive", link(n + 1)});
    for (int seq = (n - 1) * page_size_; seq < std::min(count, n * page_size_); ++seq) {
      const Change& c = changes_[static_cast<std::size_t>(seq)];
      AtomFeedEntry entry;
      entry.id = "tag:atomfeed.ict4h.org:change-" + std::to_string(seq + 1);
      entry.title = c.type;
      entry.updated = "2026-01-01T00:00:00Z";
      entry.categories = {c.type, c.action};
      entry.content = R"({"fhir":"/fhir/)" + c.type + "/" + c.id + "/_history/" +
                      std::to_string(c.version) + R"("})";
      page.entries.push_back(entry);
    }
    StatusOr<std::string> xml = feed::WriteAtomPage(page);
    if (!xml.ok()) return xml.status();
    return sink(*xml);
  }

  std::vector<std::string> fetched;
  std::string hostile;

 private:
  struct Change {
    std::string type;
    std::string id;
    int version;
    std::string action;
  };
  std::vector<Change> changes_;
  int page_size_ = 5;
};

std::vector<std::string> Keys(const ChangePage& page) {
  std::vector<std::string> keys;
  for (const ChangeEntry& e : page.entries) {
    keys.push_back(e.resource.type + "/" + e.resource.id + "/" + e.resource.version);
  }
  return keys;
}

// Reads until the reader says nothing more; returns every key in order.
std::vector<std::string> Drain(feed::AtomChangeReader& reader, std::string& position, int max) {
  std::vector<std::string> all;
  for (int guard = 0; guard < 100; ++guard) {
    ChangePage page = reader.ReadChanges(position, max);
    EXPECT_TRUE(page.status.ok()) << page.status;
    if (!page.status.ok()) break;
    for (const std::string& key : Keys(page)) all.push_back(key);
    position = page.next_position;
    if (!page.more) break;
  }
  return all;
}

TEST(AtomChangeReaderTest, ReadsEveryEntryOnceAcrossPagesInSlices) {
  PagedFeed feed;
  for (int i = 1; i <= 12; ++i) feed.Add("Patient", "p" + std::to_string(i), 1, "CREATED");
  feed::AtomChangeReader reader(&feed, std::string(kBase) + "/feed/recent");
  std::string position;
  std::vector<std::string> all = Drain(reader, position, 3);
  ASSERT_EQ(all.size(), 12u);
  EXPECT_EQ(all.front(), "Patient/p1/1");
  EXPECT_EQ(all.back(), "Patient/p12/1");
  // Nothing new: the position stays and nothing comes back.
  ChangePage again = reader.ReadChanges(position, 3);
  ASSERT_TRUE(again.status.ok());
  EXPECT_TRUE(again.entries.empty());
  EXPECT_FALSE(again.more);
  EXPECT_EQ(again.next_position, position);
  // New changes come from where it stopped.
  feed.Add("Observation", "o1", 1, "CREATED");
  feed.Add("Patient", "p1", 2, "DELETED");
  ChangePage next = reader.ReadChanges(position, 10);
  ASSERT_TRUE(next.status.ok());
  EXPECT_EQ(Keys(next), (std::vector<std::string>{"Observation/o1/1", "Patient/p1/2"}));
  EXPECT_EQ(next.entries[1].action, ChangeAction::kDelete);
  EXPECT_FALSE(next.entries[0].has_body);
}

TEST(AtomChangeReaderTest, RenumberedPagesRestartFromTheOldestWithoutLosingChanges) {
  for (int new_size : {2, 11}) {
    PagedFeed feed;
    for (int i = 1; i <= 12; ++i) feed.Add("Patient", "p" + std::to_string(i), 1, "CREATED");
    feed::AtomChangeReader reader(&feed, std::string(kBase) + "/feed/recent");
    std::string position;
    ChangePage first = reader.ReadChanges(position, 7);  // stops inside page 2
    ASSERT_TRUE(first.status.ok());
    position = first.next_position;
    feed.set_page_size(new_size);
    for (int i = 13; i <= 15; ++i) feed.Add("Patient", "p" + std::to_string(i), 1, "CREATED");
    std::vector<std::string> rest = Drain(reader, position, 100);
    // Re-reading is allowed, skipping is not: p8..p15 must all be there.
    for (int i = 8; i <= 15; ++i) {
      EXPECT_NE(std::find(rest.begin(), rest.end(), "Patient/p" + std::to_string(i) + "/1"),
                rest.end())
          << "page size " << new_size << ": p" << i << " was skipped";
    }
  }
}

TEST(AtomChangeReaderTest, HostilePageIsAnErrorAndThePositionStays) {
  PagedFeed feed;
  feed.Add("Patient", "p1", 1, "CREATED");
  feed::AtomChangeReader reader(&feed, std::string(kBase) + "/feed/recent");
  std::string position;
  Drain(reader, position, 10);
  feed.hostile = R"(<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>)"
                 R"(<feed xmlns="http://www.w3.org/2005/Atom"><title>&e;</title></feed>)";
  ChangePage page = reader.ReadChanges(position, 10);
  EXPECT_FALSE(page.status.ok());
  EXPECT_THAT(page.status.message(), HasSubstr("DTD"));
  EXPECT_TRUE(page.entries.empty());
  EXPECT_EQ(page.next_position, position);
  ChangePage bad = reader.ReadChanges("not a position", 10);
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status.message(), HasSubstr("not an Atom feed position"));
}

TEST(AtomChangeReaderTest, EntriesNameTheirResource) {
  feed::AtomEntry entry;
  entry.action = feed::AtomAction::kUpdated;
  entry.client_urls["fhir"] = "http://parent/fhir/Encounter/e-1/_history/7";
  auto change = feed::ChangeEntryFromAtom(entry);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->resource.type, "Encounter");
  EXPECT_EQ(change->resource.id, "e-1");
  EXPECT_EQ(change->resource.version, "7");
  EXPECT_EQ(change->action, ChangeAction::kUpdate);

  feed::AtomEntry rest;
  rest.content_kind = feed::AtomContentKind::kUrl;
  rest.url = "/openmrs/ws/rest/v1/patient/6fdab6f5-2cd2-4207-b8bb-c2884d6179f6?v=full";
  auto openmrs = feed::ChangeEntryFromAtom(rest);
  ASSERT_TRUE(openmrs.has_value());
  EXPECT_EQ(openmrs->resource.type, "patient");
  EXPECT_EQ(openmrs->resource.format, ResourceFormat::kOpenmrsRest);
  EXPECT_TRUE(openmrs->resource.version.empty());

  feed::AtomEntry hostile;
  hostile.client_urls["fhir"] = "/fhir/Patient/..%2f..%2fetc/_history/1";
  EXPECT_FALSE(feed::ChangeEntryFromAtom(hostile).has_value());
  feed::AtomEntry payload;
  payload.content_kind = feed::AtomContentKind::kJsonPayload;
  EXPECT_FALSE(feed::ChangeEntryFromAtom(payload).has_value());
}

TEST(HistoryChangeReaderTest, FollowsNextLinksThenSinceAndFiltersTypes) {
  testing::ScriptedPeer peer;
  auto entry = [](const std::string& type, const std::string& id, int version,
                  const std::string& at) {
    return R"({"resource":{"resourceType":")" + type + R"(","id":")" + id +
           R"(","meta":{"versionId":")" + std::to_string(version) + R"(","lastUpdated":")" + at +
           R"("}},"request":{"method":"PUT","url":")" + type + "/" + id + R"("}})";
  };
  // Page 1 newest first (as FHIR servers usually send), with a next link.
  peer.Push(testing::Reply(
      200, R"({"resourceType":"Bundle","type":"history","link":[{"relation":"next","url":")" +
               peer.base_url() + R"(/_history?_after=2"}],"entry":[)" +
               entry("Patient", "p1", 2, "2026-01-01T00:00:02Z") + "," +
               entry("Observation", "o1", 1, "2026-01-01T00:00:01Z") + "," +
               entry("Patient", "p1", 1, "2026-01-01T00:00:00Z") + "]}"));
  peer.Push(testing::Reply(
      200, R"({"resourceType":"Bundle","type":"history","entry":[)" +
               entry("Patient", "p2", 1, "2026-01-01T00:00:05Z") +
               R"(,{"request":{"method":"DELETE","url":"Patient/p3"},)"
               R"("response":{"status":"204","etag":"W/\"4\"","lastModified":"2026-01-01T00:00:04Z"}}]})"));
  fhir::FhirClientOptions options;
  options.base_url = peer.base_url();
  fhir::FhirClient client(options);
  fhir::HistoryChangeReader reader(&client, {"Patient"});
  ChangePage first = reader.ReadChanges("", 100);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"Patient/p1/1", "Patient/p1/2"}));
  EXPECT_TRUE(first.entries[0].has_body);
  EXPECT_TRUE(first.more);
  ChangePage second = reader.ReadChanges(first.next_position, 100);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(Keys(second), (std::vector<std::string>{"Patient/p3/4", "Patient/p2/1"}));
  EXPECT_TRUE(second.entries[0].resource.deleted);
  EXPECT_EQ(second.entries[0].action, ChangeAction::kDelete);
  EXPECT_FALSE(second.more);
  // The next window starts a second before the second of the newest change.
  EXPECT_THAT(second.next_position, HasSubstr("2026-01-01T00:00:04"));
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[0].uri, HasSubstr("/fhir/Patient/_history"));
  EXPECT_THAT(requests[1].uri, HasSubstr("_after=2"));

  peer.Push(testing::Reply(503, "busy"));
  ChangePage failed = reader.ReadChanges(second.next_position, 100);
  EXPECT_EQ(failed.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(failed.next_position, second.next_position);
  ChangePage bad = reader.ReadChanges(R"({"since":"yesterday"})", 100);
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

// A history entry of `type`/`id` at `version`, last updated `at`.
std::string HistoryEntryJson(const std::string& type, const std::string& id, int version,
                             const std::string& at) {
  return R"({"resource":{"resourceType":")" + type + R"(","id":")" + id +
         R"(","meta":{"versionId":")" + std::to_string(version) + R"(","lastUpdated":")" + at +
         R"("}},"request":{"method":"PUT","url":")" + type + "/" + id + R"("}})";
}

std::string HistoryBundle(const std::vector<std::string>& entries,
                          const std::string& next_url = "") {
  std::string body = R"({"resourceType":"Bundle","type":"history")";
  if (!next_url.empty()) body += R"(,"link":[{"relation":"next","url":")" + next_url + R"("}])";
  body += R"(,"entry":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) body += (i ? "," : "") + entries[i];
  return body + "]}";
}

struct HistoryFixture {
  HistoryFixture() {
    options.base_url = peer.base_url();
  }
  testing::ScriptedPeer peer;
  fhir::FhirClientOptions options;
};

TEST(HistoryChangeReaderTest, BoundarySecondIsReadAgainAndWhatWasAppliedIsDropped) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {"Patient"});
  // Second precision: p1/1 and p2/1 share the second 10:00:05.
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "p2", 1, "2026-01-01T10:00:05.700Z"),
                          HistoryEntryJson("Patient", "p1", 1, "2026-01-01T10:00:05.200Z")})));
  ChangePage first = reader.ReadChanges("", 100);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"Patient/p1/1", "Patient/p2/1"}));
  EXPECT_FALSE(first.more);

  // The server lists the boundary second again, with a change made in it
  // after the first walk (p3/1) and one a moment older that it listed late
  // (p0/1): both new, the two already applied dropped.
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "p3", 1, "2026-01-01T10:00:05.900Z"),
                          HistoryEntryJson("Patient", "p2", 1, "2026-01-01T10:00:05.700Z"),
                          HistoryEntryJson("Patient", "p1", 1, "2026-01-01T10:00:05.200Z"),
                          HistoryEntryJson("Patient", "p0", 1, "2026-01-01T10:00:04.500Z")})));
  ChangePage second = reader.ReadChanges(first.next_position, 100);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(Keys(second), (std::vector<std::string>{"Patient/p0/1", "Patient/p3/1"}));
  auto requests = f.peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[1].uri, HasSubstr("_since=2026-01-01T10%3A00%3A04"));

  // Nothing new: the same window again applies nothing, and the position
  // stays where it was.
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "p3", 1, "2026-01-01T10:00:05.900Z"),
                          HistoryEntryJson("Patient", "p0", 1, "2026-01-01T10:00:04.500Z")})));
  ChangePage third = reader.ReadChanges(second.next_position, 100);
  ASSERT_TRUE(third.status.ok()) << third.status;
  EXPECT_TRUE(third.entries.empty());
  EXPECT_EQ(third.next_position, second.next_position);
}

TEST(HistoryChangeReaderTest, OldestFirstPagesAdvanceToTheNewestOfTheWholeWalk) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {"Patient"});
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "a", 1, "2026-01-01T00:00:01Z"),
                          HistoryEntryJson("Patient", "b", 1, "2026-01-01T00:00:02Z")},
                         f.peer.base_url() + "/Patient/_history?page=2")));
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "a", 2, "2026-01-01T00:00:30Z")})));
  ChangePage first = reader.ReadChanges("", 100);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_TRUE(first.more);
  ChangePage second = reader.ReadChanges(first.next_position, 100);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(Keys(second), (std::vector<std::string>{"Patient/a/2"}));
  EXPECT_FALSE(second.more);
  f.peer.Push(testing::Reply(200, HistoryBundle({})));
  ChangePage third = reader.ReadChanges(second.next_position, 100);
  ASSERT_TRUE(third.status.ok()) << third.status;
  auto requests = f.peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[1].uri, HasSubstr("page=2"));
  EXPECT_THAT(requests[2].uri, HasSubstr("_since=2026-01-01T00%3A00%3A29"));
}

TEST(HistoryChangeReaderTest, DeletesWithoutAResourceAreTombstones) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {"Patient"});
  // One delete as request.method DELETE, one as an entry with no resource.
  f.peer.Push(testing::Reply(
      200,
      HistoryBundle({R"({"fullUrl":")" + f.peer.base_url() +
                         R"(/Patient/gone/_history/3","response":{"status":"410 Gone",)"
                         R"("lastModified":"2026-01-01T00:00:09Z"}})",
                     R"({"request":{"method":"DELETE","url":"Patient/x"},"response":)"
                     R"({"status":"204","etag":"W/\"2\"","lastModified":"2026-01-01T00:00:08Z"}})",
                     HistoryEntryJson("Patient", "x", 1, "2026-01-01T00:00:07Z")})));
  ChangePage page = reader.ReadChanges("", 100);
  ASSERT_TRUE(page.status.ok()) << page.status;
  ASSERT_EQ(Keys(page),
            (std::vector<std::string>{"Patient/x/1", "Patient/x/2", "Patient/gone/3"}));
  EXPECT_EQ(page.entries[0].action, ChangeAction::kUpdate);
  for (int i : {1, 2}) {
    EXPECT_EQ(page.entries[i].action, ChangeAction::kDelete) << i;
    EXPECT_TRUE(page.entries[i].resource.deleted) << i;
  }
}

TEST(HistoryChangeReaderTest, ServerWithoutSystemHistoryIsWalkedPerType) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {"Patient", "Observation"});
  f.peer.Push(testing::Reply(404, R"({"resourceType":"OperationOutcome","issue":[]})"));
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "p", 1, "2026-01-01T00:00:01Z")})));
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Observation", "o", 1, "2026-01-01T00:00:50Z")})));
  ChangePage first = reader.ReadChanges("", 100);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"Patient/p/1"}));
  EXPECT_TRUE(first.more);
  ChangePage second = reader.ReadChanges(first.next_position, 100);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(Keys(second), (std::vector<std::string>{"Observation/o/1"}));
  EXPECT_FALSE(second.more);
  // The next round asks each type from its own newest change.
  f.peer.Push(testing::Reply(200, HistoryBundle({})));
  f.peer.Push(testing::Reply(200, HistoryBundle({})));
  ChangePage third = reader.ReadChanges(second.next_position, 100);
  ASSERT_TRUE(third.status.ok()) << third.status;
  EXPECT_TRUE(third.more);
  ChangePage fourth = reader.ReadChanges(third.next_position, 100);
  ASSERT_TRUE(fourth.status.ok()) << fourth.status;
  EXPECT_FALSE(fourth.more);
  auto requests = f.peer.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_THAT(requests[0].uri, HasSubstr("/fhir/_history"));
  EXPECT_THAT(requests[1].uri, HasSubstr("/fhir/Patient/_history"));
  EXPECT_THAT(requests[2].uri, HasSubstr("/fhir/Observation/_history"));
  EXPECT_THAT(requests[3].uri, HasSubstr("/fhir/Patient/_history?_since=2026-01-01T00%3A00%3A00"));
  EXPECT_THAT(requests[4].uri,
              HasSubstr("/fhir/Observation/_history?_since=2026-01-01T00%3A00%3A49"));
}

// A server that takes "_history" for a search answers 200 with a searchset.
TEST(HistoryChangeReaderTest, SearchsetForTheSystemHistoryMeansWalkPerType) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {"Patient", "Observation"});
  f.peer.Push(testing::Reply(200, R"({"resourceType":"Bundle","type":"searchset","total":0})"));
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "p", 1, "2026-01-01T00:00:01Z")})));
  ChangePage first = reader.ReadChanges("", 100);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"Patient/p/1"}));
  auto requests = f.peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(requests[1].uri, HasSubstr("/fhir/Patient/_history"));
}

// A node that subscribes to every type walks those the CapabilityStatement
// lists with history-type.
TEST(HistoryChangeReaderTest, EveryTypeFromAServerWithoutSystemHistoryWalksTheListedTypes) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {});
  f.peer.Push(testing::Reply(404, "no such route"));
  f.peer.Push(testing::Reply(200, R"({"resourceType":"CapabilityStatement","rest":[{
    "mode":"server","resource":[
      {"type":"Patient","interaction":[{"code":"read"},{"code":"history-type"}]},
      {"type":"Binary","interaction":[{"code":"read"}]}]}]})"));
  f.peer.Push(testing::Reply(
      200, HistoryBundle({HistoryEntryJson("Patient", "p", 1, "2026-01-01T00:00:01Z")})));
  ChangePage page = reader.ReadChanges("", 100);
  ASSERT_TRUE(page.status.ok()) << page.status;
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"Patient/p/1"}));
  EXPECT_FALSE(page.more);  // Binary has no type history to walk
  auto requests = f.peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_THAT(requests[1].uri, HasSubstr("/fhir/metadata"));
  EXPECT_THAT(requests[2].uri, HasSubstr("/fhir/Patient/_history"));
}

TEST(HistoryChangeReaderTest, NoSystemHistoryAndNoTypeHistoryListedAsksForTypes) {
  HistoryFixture f;
  fhir::FhirClient client(f.options);
  fhir::HistoryChangeReader reader(&client, {});
  f.peer.Push(testing::Reply(404, "no such route"));
  f.peer.Push(testing::Reply(200, R"({"resourceType":"CapabilityStatement","rest":[]})"));
  ChangePage page = reader.ReadChanges("", 100);
  EXPECT_EQ(page.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(page.status.message(), HasSubstr("no system-level _history"));
  EXPECT_THAT(page.status.message(), HasSubstr("pull.types"));
  EXPECT_EQ(page.next_position, "");
}

}  // namespace
}  // namespace fhirsync
