// A new child's first pull through a real parent's snapshot, end to end: a
// `fhirsync serve` process holding the bulk test data, children made with
// `fhirsync init --parent` that pull with `fhirsync sync --pull --once`
// (through the fhir plugin's Bulk Data client and the parent's $export),
// a change made at the parent afterwards pulled exactly once from the feed
// after the watermark, and `fhirsync verify` clean; the same with the
// snapshot carried as a folder (`fhirsync snapshot --out`, `init
// --from-snapshot`); and with pull.snapshot "never" the same result by
// walking the feed, which the summary tells apart.

#include <filesystem>

#include "cli_harness.h"
#include "support/serve_process.h"

namespace fhirsync::cli_test {
namespace {

namespace fs = std::filesystem;
using ::fhirsync::testing::ServeProcess;

constexpr char kUser[] = "tablet-user";
constexpr char kPassword[] = "tablet pass phrase";

class SnapshotSyncTest : public CliTest {
 protected:
  void SetUp() override {
    InitNode("district");
    std::vector<std::string> args{"import", "--dir", node_};
    for (const auto& entry : fs::directory_iterator(kTestData + "/fhir-r4-bulk")) {
      if (entry.path().extension() == ".ndjson") args.push_back(entry.path().string());
    }
    ProcessResult imported = Fhirsync(args);
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    ProcessOptions password;
    password.stdin_data = std::string(kPassword) + "\n";
    ProcessResult user =
        Fhirsync({"user", "add", kUser, "--role", "read,write", "--dir", node_}, password);
    ASSERT_EQ(user.exit_code, 0) << user.err;
    rapidjson::Document stats = RunJson("stats");
    live_ = stats["live"].GetInt64();
    ASSERT_GT(live_, 5000);
    parent_ = std::make_unique<ServeProcess>(kBinary, node_);
    ASSERT_TRUE(parent_->Start()) << parent_->error();
  }

  // `fhirsync init` of a child of the parent in a new folder `name`.
  std::string InitChild(const std::string& name, std::vector<std::string> extra = {}) {
    const std::string dir = tmp_.Sub(name);
    std::vector<std::string> args{"init",     "--dir",         dir,  "--node-id", name,
                                  "--parent", parent_->url(), "--parent-user", kUser};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessOptions password;
    password.stdin_data = std::string(kPassword) + "\n";
    ProcessResult init = Fhirsync(args, password);
    EXPECT_EQ(init.exit_code, 0) << init.Describe() << "\n" << init.err;
    ProcessResult on = Fhirsync({"config", "set", "pull.snapshot", "auto", "--dir", dir});
    EXPECT_EQ(on.exit_code, 0) << on.err;
    return dir;
  }

  rapidjson::Document Pull(const std::string& dir) {
    ProcessResult r = Fhirsync({"sync", "--pull", "--once", "--json", "--dir", dir});
    rapidjson::Document doc;
    EXPECT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err;
    EXPECT_TRUE(ParseJson(r.out, &doc));
    return doc;
  }

  void ExpectVerifiedInStep(const std::string& dir) {
    ProcessResult r = Fhirsync({"verify", "--json", "--dir", dir});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    rapidjson::Document doc;
    ASSERT_TRUE(ParseJson(r.out, &doc));
    EXPECT_TRUE(doc["in_sync"].GetBool()) << r.out;
    EXPECT_EQ(doc["local_resources"].GetInt64(), doc["parent_resources"].GetInt64()) << r.out;
  }

  void PutAtParent(const std::string& id) {
    ProcessOptions body;
    body.stdin_data = R"({"resourceType":"Patient","id":")" + id + R"(","gender":"male"})";
    ProcessResult put = Fhirsync({"put", "-", "--dir", node_}, body);
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }

  std::int64_t live_ = 0;
  std::unique_ptr<ServeProcess> parent_;
};

TEST_F(SnapshotSyncTest, FirstPullLoadsTheParentsSnapshotThenFollowsTheFeedAfterIt) {
  const std::string child = InitChild("tablet");
  rapidjson::Document first = Pull(child);
  EXPECT_TRUE(first["from_snapshot"].GetBool()) << "the first pull did not use the snapshot";
  EXPECT_EQ(first["applied"].GetInt64(), live_);
  EXPECT_EQ(first["requests"].GetInt64(), 0) << "no body was fetched one batch at a time";
  EXPECT_GT(first["snapshot_files"].GetInt64(), 0);

  // A change after the snapshot comes from the feed, alone and once.
  PutAtParent("made-after-the-snapshot");
  rapidjson::Document second = Pull(child);
  EXPECT_FALSE(second["from_snapshot"].GetBool());
  EXPECT_EQ(second["entries"].GetInt64(), 1) << "the feed was read again from before the watermark";
  EXPECT_EQ(second["applied"].GetInt64(), 1);
  ProcessResult versions =
      Fhirsync({"history", "Patient/made-after-the-snapshot", "--json", "--dir", child});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  rapidjson::Document versions_doc;
  ASSERT_TRUE(ParseJson(versions.out, &versions_doc));
  ASSERT_TRUE(HasFields(versions_doc, {"versions"})) << versions.out;
  EXPECT_EQ(versions_doc["versions"].Size(), 1u) << "applied once: " << versions.out;

  // A third pull has nothing to do.
  rapidjson::Document third = Pull(child);
  EXPECT_EQ(third["applied"].GetInt64(), 0);
  ExpectVerifiedInStep(child);
}

TEST_F(SnapshotSyncTest, ASnapshotCarriedAsAFolderStartsAChildThatThenFollowsTheFeed) {
  const std::string stick = tmp_.Sub("stick");
  ProcessResult written = Run("snapshot", {"--out", stick});
  ASSERT_EQ(written.exit_code, 0) << written.err;
  PutAtParent("made-after-the-stick");

  const std::string child = InitChild("clinic", {"--from-snapshot", stick});
  rapidjson::Document pulled = Pull(child);
  EXPECT_FALSE(pulled["from_snapshot"].GetBool()) << "the folder's snapshot was loaded again";
  EXPECT_EQ(pulled["entries"].GetInt64(), 1) << "only the change after the folder's watermark";
  EXPECT_EQ(pulled["applied"].GetInt64(), 1);
  ExpectVerifiedInStep(child);
}

TEST_F(SnapshotSyncTest, WithSnapshotsOffTheFirstPullWalksTheFeedToTheSameStore) {
  const std::string child = InitChild("walker");
  ProcessResult off =
      Fhirsync({"config", "set", "pull.snapshot", "never", "--dir", child});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  rapidjson::Document first = Pull(child);
  EXPECT_FALSE(first["from_snapshot"].GetBool());
  EXPECT_EQ(first["applied"].GetInt64(), live_);
  EXPECT_GT(first["requests"].GetInt64(), 0) << "bodies are fetched in batches";
  ExpectVerifiedInStep(child);
}

}  // namespace
}  // namespace fhirsync::cli_test
