// `fhirsync init --parent URL --from-snapshot DIR` as a real process: the
// folder is proven whole before anything is loaded (a changed byte, a
// missing file, a count changed in the manifest: refused naming the file,
// no node made), another node's snapshot is refused, and a whole one is
// loaded with the cursor left at the watermark.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/snapshot_load.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const std::string kBinary = FHIRSYNC_BINARY;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class SnapshotInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    snapshot_ = tmp_.path() + "/stick";
    fs::create_directories(snapshot_);
    BulkManifest m;
    m.transaction_time = "2026-12-07T20:00:00Z";
    m.request = "http://127.0.0.1:9/fhir/$export";
    m.has_fhirsync = true;
    m.fhirsync = {"district", 300, "http://127.0.0.1:9/feed/3", "urn:uuid:300"};
    for (const std::string type : {"Patient", "Organization"}) {
      std::string text;
      for (int i = 0; i < 150; ++i) {
        text += R"({"resourceType":")" + type + R"(","id":"x)" + std::to_string(i) +
                R"(","meta":{"versionId":"2"}})" + "\n";
      }
      m.output.push_back({type, type + ".ndjson", 150, Sha256Hex(text),
                          static_cast<std::int64_t>(text.size())});
      WriteText(snapshot_ + "/" + type + ".ndjson", text);
    }
    WriteText(snapshot_ + "/manifest.json", WriteBulkManifest(m));
    manifest_ = m;
  }

  ProcessResult Init(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"init",     "--dir",       tmp_.path() + "/" + name,
                                  "--parent", "http://127.0.0.1:9", "--from-snapshot",
                                  snapshot_};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProgram(kBinary, args);
  }

  TempDir tmp_{"fhirsync-snapshot-init"};
  std::string snapshot_;
  BulkManifest manifest_;
};

TEST_F(SnapshotInitTest, LoadsAWholeFolderAndLeavesTheCursorAtTheWatermark) {
  ProcessResult init = Init("child", {"--json"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_THAT(init.out, HasSubstr(R"("resources":300)"));
  const std::string dir = tmp_.path() + "/child";
  auto config = LoadNodeConfig(dir);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->parent.node_id, "district");
  auto store = OpenLocalStore(config->store, dir, config->node_id);
  ASSERT_TRUE(store.ok()) << store.status();
  auto cursor = (*store)->GetCursor("district");
  ASSERT_TRUE(cursor.ok() && cursor->has_value());
  EXPECT_EQ((*cursor)->feed, "atom");
  EXPECT_THAT((*cursor)->position, HasSubstr("/feed/3"));
  auto states = (*store)->GetSyncStates(std::vector<std::pair<std::string, std::string>>{
      {"Patient", "x0"}, {"Organization", "x149"}});
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ(states->front().remote_version, "2");
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
}

TEST_F(SnapshotInitTest, ATamperedFolderIsRefusedAndNothingIsMade) {
  const std::string patients = snapshot_ + "/Patient.ndjson";
  const std::string original = ReadText(patients);
  std::string changed = original;
  changed[40] = changed[40] == 'x' ? 'y' : 'x';
  WriteText(patients, changed);
  ProcessResult byte = Init("child-byte");
  EXPECT_NE(byte.exit_code, 0);
  EXPECT_THAT(byte.err, HasSubstr("Patient.ndjson"));
  EXPECT_THAT(byte.err, HasSubstr("nothing was loaded"));
  EXPECT_FALSE(fs::exists(tmp_.path() + "/child-byte"));

  fs::remove(patients);
  ProcessResult missing = Init("child-missing");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("Patient.ndjson is missing"));
  WriteText(patients, original);

  BulkManifest counted = manifest_;
  counted.output[1].count = 151;
  WriteText(snapshot_ + "/manifest.json", WriteBulkManifest(counted));
  ProcessResult count = Init("child-count");
  EXPECT_NE(count.exit_code, 0);
  EXPECT_THAT(count.err, HasSubstr("Organization.ndjson holds 150 resources"));
  EXPECT_FALSE(fs::exists(tmp_.path() + "/child-count"));
}

TEST_F(SnapshotInitTest, AnotherNodesSnapshotIsRefused) {
  ProcessResult init = Init("child-other", {"--parent-node-id", "region"});
  EXPECT_NE(init.exit_code, 0);
  EXPECT_THAT(init.err, HasSubstr("exported by node 'district'"));
  ProcessResult history = Init("child-history", {"--feed", "fhir-history"});
  EXPECT_NE(history.exit_code, 0);
  EXPECT_THAT(history.err, HasSubstr("--feed atom"));
}

}  // namespace
}  // namespace fhirsync::testing
