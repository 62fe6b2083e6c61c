// Children pulling from a real parent: `fhirsync serve` processes loaded
// with fhir-r4-bulk, `fhirsync sync --pull` child processes (killed with
// SIGKILL on purpose), and a scripted peer serving hostile feeds. Real HTTP
// on 127.0.0.1 with ports the OS picks, real SQLite stores.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "support/scripted_http_peer.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "support/test_seed.h"

namespace fhirsync::testing {
namespace {

using ::testing::HasSubstr;

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kTestData = FHIRSYNC_TEST_DATA;
constexpr char kParentId[] = "parent-hq";
constexpr char kChildUser[] = "facility-7";
constexpr char kChildPassword[] = "correct horse battery";

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  return RunProgram(kBinary, args, stdin_data);
}

std::vector<std::string> BulkFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kTestData + "/fhir-r4-bulk")) {
    if (entry.path().extension() == ".ndjson") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A body without `meta` (each node stamps its own versionId/lastUpdated).
rapidjson::Document WithoutMeta(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.IsObject()) doc.RemoveMember("meta");
  return doc;
}

std::unique_ptr<LocalStore> OpenStore(const std::string& dir) {
  auto config = LoadNodeConfig(dir);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  auto store = OpenLocalStore(config->store, dir, config->node_id);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(store).value() : nullptr;
}

// The summary line `sync --pull --once --json` prints.
std::map<std::string, std::int64_t> ParseSummary(const std::string& out) {
  std::map<std::string, std::int64_t> summary;
  std::string last_line;
  for (std::size_t start = 0; start < out.size();) {
    std::size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    if (end > start) last_line = out.substr(start, end - start);
    start = end + 1;
  }
  rapidjson::Document doc;
  doc.Parse(last_line.c_str());
  if (!doc.IsObject()) return summary;
  for (const auto& member : doc.GetObject()) {
    if (member.value.IsInt64()) summary[member.name.GetString()] = member.value.GetInt64();
  }
  return summary;
}

class Parent {
 public:
  explicit Parent(const std::string& dir) : dir_(dir) {}
  ~Parent() { Stop(); }

  void Create(int page_size) {
    ProcessResult init = Fhirsync({"init", "--dir", dir_, "--node-id", kParentId});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    SetPageSize(page_size);
    ProcessResult user = Fhirsync({"user", "add", kChildUser, "--role", "read,write", "--dir", dir_},
                                  std::string(kChildPassword) + "\n");
    ASSERT_EQ(user.exit_code, 0) << user.err;
    std::vector<std::string> args{"import"};
    for (const std::string& file : BulkFiles()) args.push_back(file);
    args.insert(args.end(), {"--dir", dir_});
    ProcessResult import = Fhirsync(args);
    ASSERT_EQ(import.exit_code, 0) << import.err;
  }

  void SetPageSize(int page_size) {
    auto config = LoadNodeConfig(dir_);
    ASSERT_TRUE(config.ok()) << config.status();
    config->server.feed_page_size = page_size;
    ASSERT_TRUE(SaveNodeConfig(dir_, *config).ok());
  }

  void Start() {
    std::string error;
    ASSERT_TRUE(process_.Start({kBinary, "serve", "--dir", dir_, "--bind", "127.0.0.1", "--port",
                                "0"},
                               {}, &error))
        << error;
    const std::string prefix = "listening on http://127.0.0.1:";
    ASSERT_TRUE(process_.WaitForStdout(prefix, std::chrono::seconds(30))) << process_.Stderr();
    std::string out = process_.Stdout();
    port_ = std::stoi(out.substr(out.find(prefix) + prefix.size()));
  }

  void Stop() {
    if (process_.Running()) {
      process_.Signal(SIGTERM);
      process_.Wait(std::chrono::seconds(20));
    }
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  ChildProcess process_;
  int port_ = 0;
};

class PullProcessTest : public ::testing::Test {
 protected:
  PullProcessTest() : tmp_("fhirsync-pull"), parent_(tmp_.path() + "/parent") {}

  void SetUp() override {
    parent_.Create(100);
    parent_.Start();
  }

  // With --feed fhir-history, --parent is the parent's FHIR base.
  std::string InitChild(const std::string& name, const std::vector<std::string>& extra = {}) {
    const std::string dir = tmp_.path() + "/" + name;
    const bool history = std::find(extra.begin(), extra.end(), "fhir-history") != extra.end();
    std::vector<std::string> args{"init", "--dir", dir, "--node-id", name, "--parent",
                                  parent_.url() + (history ? "/fhir" : ""), "--parent-user",
                                  kChildUser};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult init = Fhirsync(args, std::string(kChildPassword) + "\n");
    EXPECT_EQ(init.exit_code, 0) << init.err;
    return dir;
  }

  std::map<std::string, std::int64_t> Pull(const std::string& dir) {
    ProcessResult pull = Fhirsync({"sync", "--dir", dir, "--pull", "--once", "--json"});
    EXPECT_EQ(pull.exit_code, 0) << pull.err;
    return ParseSummary(pull.out);
  }

  // Every subscribed resource of the parent is on the child with the same
  // body (minus meta), at the version agreed in sync_state; the child holds
  // nothing else and no resource twice.
  void ExpectMirrors(const std::string& child_dir, const std::set<std::string>& types = {}) {
    auto parent = OpenStore(parent_.dir());
    auto child = OpenStore(child_dir);
    ASSERT_NE(parent, nullptr);
    ASSERT_NE(child, nullptr);
    auto parent_stats = parent->Stats();
    auto child_stats = child->Stats();
    ASSERT_TRUE(parent_stats.ok());
    ASSERT_TRUE(child_stats.ok());
    std::int64_t expected = 0;
    std::map<std::string, std::int64_t> child_counts;
    for (const TypeCount& t : child_stats->types) child_counts[t.type] = t.live;
    for (const TypeCount& t : parent_stats->types) {
      if (!types.empty() && types.count(t.type) == 0) {
        EXPECT_EQ(child_counts.count(t.type), 0u) << t.type << " is not subscribed";
        continue;
      }
      EXPECT_EQ(child_counts[t.type], t.live) << t.type;
      expected += t.live;
      for (std::int64_t offset = 0;; offset += 500) {
        SearchQuery query;
        query.type = t.type;
        query.offset = offset;
        query.limit = 500;
        auto page = parent->Search(query);
        ASSERT_TRUE(page.ok()) << page.status();
        if (page->resources.empty()) break;
        std::vector<std::pair<std::string, std::string>> keys;
        for (const Resource& r : page->resources) keys.emplace_back(r.type, r.id);
        auto states = child->GetSyncStates(keys);
        ASSERT_TRUE(states.ok()) << states.status();
        std::map<std::string, SyncState> by_id;
        for (SyncState& s : *states) by_id[s.id] = s;
        for (const Resource& r : page->resources) {
          auto mine = child->Get(r.type, r.id);
          ASSERT_TRUE(mine.ok()) << r.Key() << ": " << mine.status();
          EXPECT_TRUE(WithoutMeta(mine->body) == WithoutMeta(r.body)) << r.Key();
          ASSERT_EQ(by_id.count(r.id), 1u) << r.Key();
          EXPECT_EQ(by_id[r.id].remote_version, std::to_string(r.version)) << r.Key();
          EXPECT_EQ(by_id[r.id].local_version, mine->version) << r.Key();
        }
      }
    }
    auto last_seq = child->LastSeq();
    ASSERT_TRUE(last_seq.ok());
    EXPECT_EQ(*last_seq, expected) << "one change per pulled resource: no duplicates";
    EXPECT_TRUE(child->CheckIntegrity().ok()) << child->CheckIntegrity();
  }

  TempDir tmp_;
  Parent parent_;
};

TEST_F(PullProcessTest, ChildPullsEverythingFromTheAtomFeed) {
  const std::string child = InitChild("child-atom");
  auto summary = Pull(child);
  EXPECT_EQ(summary["fetched"], 5945);
  EXPECT_EQ(summary["applied"], 5945);
  EXPECT_EQ(summary["conflicts"], 0);
  // Bodies come 100 at a time, not one request per feed entry.
  EXPECT_LE(summary["requests"], 5945 / 50);
  ExpectMirrors(child);
  auto config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->parent.node_id, kParentId);  // learnt from the parent
  auto again = Pull(child);
  EXPECT_EQ(again["fetched"], 0);
  EXPECT_EQ(again["applied"], 0);
}

TEST_F(PullProcessTest, ChildFollowsFhirHistoryForItsTypes) {
  const std::string child =
      InitChild("child-history", {"--feed", "fhir-history", "--types", "Patient,Encounter"});
  auto summary = Pull(child);
  EXPECT_GT(summary["applied"], 0);
  ExpectMirrors(child, {"Patient", "Encounter"});
}

TEST_F(PullProcessTest, SubscribedTypesAreFilteredByTheParent) {
  const std::string child = InitChild("child-types", {"--types", "Patient,Organization"});
  auto summary = Pull(child);
  ExpectMirrors(child, {"Patient", "Organization"});
  EXPECT_EQ(summary["entries"], summary["applied"]);  // nothing else was downloaded
}

TEST_F(PullProcessTest, KilledMidPullTenTimesEndsIdenticalWithoutDuplicates) {
  const std::string child = InitChild("child-kill");
  // Small batches, one at a time: the pull takes long enough that every
  // kill lands in the middle of it.
  auto config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->pull.batch_size = 10;
  config->pull.in_flight = 1;
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  const std::uint64_t seed = TestSeed();
  SCOPED_TRACE(ReplayHint(seed));
  std::mt19937 random(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
  // Short enough that the twelve runs together do not finish the pull: a
  // run that finds it finished is not killed in it, and the pull gets
  // quicker whenever writing does.
  std::uniform_int_distribution<int> delay_ms(20, 120);
  int killed_mid_pull = 0;
  for (int round = 0; round < 12; ++round) {
    ChildProcess pull;
    std::string error;
    ASSERT_TRUE(pull.Start({kBinary, "sync", "--dir", child, "--pull", "--once", "--json"}, {},
                           &error))
        << error;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    if (pull.Signal(SIGKILL)) {
      ProcessResult result = pull.Wait(std::chrono::seconds(20));
      if (result.term_signal == SIGKILL) ++killed_mid_pull;
    } else {
      pull.Wait(std::chrono::seconds(20));
    }
  }
  EXPECT_GE(killed_mid_pull, 10);
  Pull(child);
  ExpectMirrors(child);
}

TEST_F(PullProcessTest, ParentOnANewPortWithTheSameNodeIdResumesWithoutRereading) {
  const std::string child = InitChild("child-move");
  Pull(child);
  parent_.Stop();
  ProcessResult put = Fhirsync(
      {"put", "--dir", parent_.dir(), "-"},
      R"({"resourceType":"Patient","id":"moved-1","name":[{"family":"Moved"}]})");
  ASSERT_EQ(put.exit_code, 0) << put.err;
  parent_.Start();  // another port
  auto config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->parent.url = parent_.url();
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  auto summary = Pull(child);
  EXPECT_EQ(summary["entries"], 1);  // only what is new
  EXPECT_EQ(summary["applied"], 1);
  ExpectMirrors(child);
}

TEST_F(PullProcessTest, ParentPageSizeChangeLosesNothing) {
  const std::string child = InitChild("child-pages");
  Pull(child);
  parent_.Stop();
  parent_.SetPageSize(37);
  for (const char* id : {"pg-1", "pg-2", "pg-3"}) {
    ProcessResult put = Fhirsync({"put", "--dir", parent_.dir(), "-"},
                                 std::string(R"({"resourceType":"Patient","id":")") + id +
                                     R"(","name":[{"family":"Paged"}]})");
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }
  parent_.Start();  // another port
  auto config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->parent.url = parent_.url();
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  auto summary = Pull(child);
  EXPECT_EQ(summary["applied"], 3);
  EXPECT_EQ(summary["fetched"], 3);  // re-read feed pages, but fetched only what is new
  ExpectMirrors(child);
}

TEST_F(PullProcessTest, PendingLocalEditSurvivesANewerServerVersion) {
  const std::string child = InitChild("child-edit");
  Pull(child);
  auto parent = OpenStore(parent_.dir());
  ASSERT_NE(parent, nullptr);
  SearchQuery query;
  query.type = "Patient";
  query.limit = 1;
  auto first = parent->Search(query);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->resources.size(), 1u);
  const std::string id = first->resources[0].id;
  parent.reset();
  const std::string local_body =
      R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":"LocalEdit"}]})";
  ProcessResult edit = Fhirsync({"put", "--dir", child, "-"}, local_body);
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  ProcessResult server_edit = Fhirsync(
      {"put", "--dir", parent_.dir(), "-"},
      R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":"ServerEdit"}]})");
  ASSERT_EQ(server_edit.exit_code, 0) << server_edit.err;
  auto summary = Pull(child);
  EXPECT_EQ(summary["conflicts"], 1);
  EXPECT_EQ(summary["applied"], 0);
  auto store = OpenStore(child);
  ASSERT_NE(store, nullptr);
  auto mine = store->Get("Patient", id);
  ASSERT_TRUE(mine.ok());
  EXPECT_THAT(mine->body, HasSubstr("LocalEdit"));
  auto outbox = store->PendingOutbox(10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  auto conflicts = store->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok()) << conflicts.status();
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].id, id);
  EXPECT_THAT((*conflicts)[0].local_body, HasSubstr("LocalEdit"));
  EXPECT_THAT((*conflicts)[0].remote_body, HasSubstr("ServerEdit"));
  EXPECT_EQ((*conflicts)[0].remote_version, "2");
}

// A parent that is only a scripted peer: it names itself, then serves a
// good feed page, then hostile ones.
class HostileFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string good =
        R"(<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>good</title><id>hostile+1</id><updated>2026-01-01T00:00:00Z</updated>
  <link rel="self" type="application/atom+xml" href="/feed/1"/>
  <link rel="via" type="application/atom+xml" href="/feed/1"/>
  <link rel="first" type="application/atom+xml" href="/feed/1"/>
  <entry><id>tag:atomfeed.ict4h.org:1</id><title>Patient</title>
    <updated>2026-01-01T00:00:00Z</updated>
    <category term="Patient"/><category term="CREATED"/>
    <content type="application/vnd.atomfeed+xml"><![CDATA[{"fhir":"/fhir/Patient/h1/_history/1"}]]></content>
  </entry>
</feed>)";
    peer_.Route([this, good](const RecordedRequest& request) {
      std::vector<std::pair<std::string, std::string>> named = {
          {"X-Fhirsync-Node-Id", "hostile-parent"}};
      if (request.uri.rfind("/fhir/metadata", 0) == 0) {
        return Reply(200, R"({"resourceType":"CapabilityStatement","status":"active",)"
                          R"("kind":"instance","fhirVersion":"4.0.1","format":["json"]})",
                     named);
      }
      if (request.uri.rfind("/feed/", 0) == 0) {
        return Reply(200, hostile_.empty() ? good : hostile_, named);
      }
      if (request.uri.rfind("/fhir", 0) == 0) {
        // read-many: a batch or an _id search answered with one Patient.
        return Reply(200, R"({"resourceType":"Bundle","type":"searchset","entry":[)"
                          R"({"resource":{"resourceType":"Patient","id":"h1",)"
                          R"("meta":{"versionId":"1"}}}]})",
                     named);
      }
      return Reply(404, "", named);
    });
    dir_ = tmp_.path() + "/child";
    ProcessResult init =
        Fhirsync({"init", "--dir", dir_, "--node-id", "child-h", "--parent",
                  "http://127.0.0.1:" + std::to_string(peer_.port()), "--parent-user", "u"},
                 "p\n");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(dir_);
    ASSERT_TRUE(config.ok());
    config->plugins.load[0].options["read_many"] = "id-search";
    config->plugins.load[0].options["capability_statement"] = "ignore";
    ASSERT_TRUE(SaveNodeConfig(dir_, *config).ok());
  }

  std::string Cursor() {
    auto store = OpenStore(dir_);
    if (!store) return "<no store>";
    auto cursor = store->GetCursor("hostile-parent");
    EXPECT_TRUE(cursor.ok());
    return cursor.ok() && *cursor ? (*cursor)->position : "<none>";
  }

  void ExpectRejected(const std::string& page, const std::string& words) {
    const std::string before = Cursor();
    hostile_ = page;
    ProcessResult pull = Fhirsync({"sync", "--dir", dir_, "--pull", "--once"});
    EXPECT_EQ(pull.exit_code, 1) << pull.out;
    EXPECT_THAT(pull.err, HasSubstr(words));
    EXPECT_EQ(Cursor(), before);
  }

  TempDir tmp_{"fhirsync-hostile"};
  ScriptedPeer peer_;
  std::string dir_;
  std::string hostile_;
};

TEST_F(HostileFeedTest, HostileFeedsAreRejectedAndTheCursorStays) {
  ProcessResult good = Fhirsync({"sync", "--dir", dir_, "--pull", "--once", "--json"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(ParseSummary(good.out)["applied"], 1);
  ASSERT_THAT(Cursor(), HasSubstr("/feed/1"));

  ExpectRejected(R"(<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol3;</title></feed>)",
                 "DTD");
  ExpectRejected(R"(<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&xxe;</title></feed>)",
                 "DTD");
  ExpectRejected(R"(<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>cut</title><entry><id>tag:x</)",
                 "truncated");
}

}  // namespace
}  // namespace fhirsync::testing
