// A child against a hostile parent: a scripted peer on 127.0.0.1 that names
// itself as a fhirsync node and serves good changes, then answers with a
// resource nested 100,000 levels deep. Real `fhirsync` processes and real
// SQLite stores: a deep answer fails the pull with the limit named (never a
// crash) and the cursor stays.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "support/hostile_json.h"
#include "support/scripted_http_peer.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

using ::testing::HasSubstr;

const std::string kBinary = FHIRSYNC_BINARY;
constexpr char kParentId[] = "hostile-parent";
constexpr int kHostileDepth = 100000;

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::seconds(120);
  return RunProcess(argv, options);
}

std::string Patient(const std::string& id, const std::string& updated) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","meta":{"versionId":"1",)"
         R"("lastUpdated":")" + updated + R"("},"gender":"female"})";
}

// A history Bundle of one PUT of `resource`.
std::string HistoryOf(const std::string& resource, const std::string& id) {
  return R"({"resourceType":"Bundle","type":"history","entry":[{"resource":)" + resource +
         R"(,"request":{"method":"PUT","url":"Patient/)" + id + R"("}}]})";
}

std::string AtomPage(const std::string& entry, const std::string& id) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>hostile</title><id>hostile+1</id><updated>2026-01-01T00:00:00Z</updated>
  <link rel="self" type="application/atom+xml" href="/feed/1"/>
  <link rel="via" type="application/atom+xml" href="/feed/1"/>
  <link rel="first" type="application/atom+xml" href="/feed/1"/>
  <entry><id>tag:atomfeed.ict4h.org:)" +
         entry + R"(</id><title>Patient</title>
    <updated>2026-01-01T00:00:00Z</updated>
    <category term="Patient"/><category term="CREATED"/>
    <content type="application/vnd.atomfeed+xml"><![CDATA[{"fhir":"/fhir/Patient/)" +
         id + R"(/_history/1"}]]></content>
  </entry>
</feed>)";
}

// The scripted parent: good (three Patients), or deep (every answer that
// carries a resource holds one nested 100,000 levels).
enum class Mode { kGood, kDeep };

std::string GoodHistory() {
  std::string entries;
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "p" + std::to_string(i);
    entries += std::string(i > 1 ? "," : "") + R"({"resource":)" +
               Patient(id, "2026-11-22T10:00:0" + std::to_string(i) + "Z") +
               R"(,"request":{"method":"PUT","url":"Patient/)" + id + R"("}})";
  }
  return R"({"resourceType":"Bundle","type":"history","entry":[)" + entries + "]}";
}

class HostileParentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_.Route([this](const RecordedRequest& request) {
      std::vector<std::pair<std::string, std::string>> named = {{"X-Fhirsync-Node-Id", kParentId}};
      const std::string& uri = request.uri;
      if (uri.rfind("/fhir/metadata", 0) == 0) {
        return Reply(200, R"({"resourceType":"CapabilityStatement","status":"active",)"
                          R"("kind":"instance","fhirVersion":"4.0.1","format":["json"]})",
                     named);
      }
      const Mode mode = mode_.load();
      const bool deep = mode == Mode::kDeep;
      const std::string id = deep ? "deep" : "good";
      const std::string resource = deep ? DeepResource("Patient", "deep", kHostileDepth)
                                        : Patient("good", "2026-11-22T10:00:00Z");
      if (uri.rfind("/feed/", 0) == 0) return Reply(200, AtomPage(deep ? "2" : "1", id), named);
      if (uri.find("_history") != std::string::npos) {
        return Reply(200, deep ? HistoryOf(resource, id) : GoodHistory(), named);
      }
      if (uri.rfind("/fhir", 0) == 0) {  // read-many by _id search
        return Reply(200, R"({"resourceType":"Bundle","type":"searchset","entry":[)"
                          R"({"resource":)" + resource + "}]}",
                     named);
      }
      return Reply(404, "", named);
    });
  }

  std::string InitChild(const std::string& name, const std::string& feed) {
    const std::string dir = tmp_.path() + "/" + name;
    ProcessResult init =
        Fhirsync({"init", "--dir", dir, "--node-id", name, "--parent",
                  "http://127.0.0.1:" + std::to_string(peer_.port()), "--parent-user", "u",
                  "--feed", feed},
                 "p\n");
    EXPECT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(dir);
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return dir;
    config->plugins.load[0].options["read_many"] = "id-search";
    config->plugins.load[0].options["capability_statement"] = "ignore";
    EXPECT_TRUE(SaveNodeConfig(dir, *config).ok());
    return dir;
  }

  static std::string Cursor(const std::string& dir) {
    auto config = LoadNodeConfig(dir);
    if (!config.ok()) return "<no config>";
    auto store = OpenLocalStore(config->store, dir, config->node_id);
    if (!store.ok()) return "<no store>";
    auto cursor = (*store)->GetCursor(kParentId);
    return cursor.ok() && *cursor ? (*cursor)->position : "<none>";
  }

  static std::int64_t LiveResources(const std::string& dir) {
    auto config = LoadNodeConfig(dir);
    if (!config.ok()) return -1;
    auto store = OpenLocalStore(config->store, dir, config->node_id);
    if (!store.ok()) return -1;
    auto stats = (*store)->Stats();
    if (!stats.ok()) return -1;
    std::int64_t live = 0;
    for (const TypeCount& t : stats->types) live += t.live;
    return live;
  }

  // A good pull, then a hostile one: it fails naming the limit, exits 1
  // (not a signal), and neither the cursor nor the store move.
  void ExpectDeepAnswerRefused(const std::string& dir) {
    ProcessResult good = Fhirsync({"sync", "--dir", dir, "--pull", "--once"});
    ASSERT_EQ(good.exit_code, 0) << good.Describe() << ": " << good.err;
    const std::string before = Cursor(dir);
    ASSERT_NE(before, "<none>");
    const std::int64_t live = LiveResources(dir);
    ASSERT_GE(live, 1);

    mode_ = Mode::kDeep;
    ProcessResult pull = Fhirsync({"sync", "--dir", dir, "--pull", "--once"});
    EXPECT_EQ(pull.exit_code, 1) << pull.Describe() << ": " << pull.err;
    EXPECT_EQ(pull.term_signal, 0);
    EXPECT_THAT(pull.err, HasSubstr("nests arrays/objects deeper than 108 levels"));
    EXPECT_EQ(Cursor(dir), before);
    EXPECT_EQ(LiveResources(dir), live);
  }

  TempDir tmp_{"fhirsync-hostile-parent"};
  ScriptedPeer peer_;
  std::atomic<Mode> mode_{Mode::kGood};
};

TEST_F(HostileParentTest, DeepResourceInTheHistoryFeedIsRefusedAndTheCursorStays) {
  ExpectDeepAnswerRefused(InitChild("child-history", "fhir-history"));
}

TEST_F(HostileParentTest, DeepResourceFetchedForTheAtomFeedIsRefusedAndTheCursorStays) {
  ExpectDeepAnswerRefused(InitChild("child-atom", "atom"));
}

}  // namespace
}  // namespace fhirsync::testing
