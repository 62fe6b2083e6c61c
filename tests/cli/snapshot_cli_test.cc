// `fhirsync snapshot`: the bulk test data imported, then written as a Bulk
// Data folder whose counts are `fhirsync stats`'s and whose digests match
// the files; refusals.

#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "cli_harness.h"
#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync::cli_test {
namespace {

namespace fs = std::filesystem;

class SnapshotCliTest : public CliTest {
 protected:
  void ImportBulk() {
    std::vector<std::string> args{"import", "--dir", node_};
    for (const auto& entry : fs::directory_iterator(kTestData + "/fhir-r4-bulk")) {
      if (entry.path().extension() == ".ndjson") args.push_back(entry.path().string());
    }
    ASSERT_GT(args.size(), 3u);
    ProcessResult r = Fhirsync(args);
    ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err;
  }
};

TEST_F(SnapshotCliTest, TheBulkDataAsAFolderWithStatsCountsAndDigests) {
  InitNode("district");
  ImportBulk();
  ProcessResult stats = Fhirsync({"stats", "--dir", node_, "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  rapidjson::Document stats_doc;
  ASSERT_TRUE(ParseJson(stats.out, &stats_doc));
  std::map<std::string, std::int64_t> live;
  for (const auto& t : stats_doc["types"].GetArray()) {
    live[t["type"].GetString()] = t["live"].GetInt64();
  }

  const std::string out = tmp_.Sub("stick");
  ProcessResult r = Fhirsync({"snapshot", "--dir", node_, "--out", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err;
  rapidjson::Document summary;
  ASSERT_TRUE(ParseJson(r.out, &summary));
  ASSERT_TRUE(HasFields(summary, {"out", "manifest", "watermark_seq", "resources", "files"}));
  EXPECT_EQ(summary["watermark_seq"].GetInt64(), stats_doc["last_seq"].GetInt64());
  EXPECT_EQ(summary["resources"].GetInt64(), stats_doc["live"].GetInt64());

  auto manifest = ParseBulkManifest(ReadTextFile(out + "/manifest.json"));
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->request, "fhirsync snapshot");
  EXPECT_EQ(manifest->fhirsync.node_id, "district");
  EXPECT_EQ(manifest->fhirsync.watermark_seq, stats_doc["last_seq"].GetInt64());
  EXPECT_EQ(manifest->fhirsync.atom_page_url.rfind("/feed/", 0), 0u)
      << manifest->fhirsync.atom_page_url;
  std::map<std::string, std::int64_t> counted;
  for (const BulkOutputFile& file : manifest->output) {
    EXPECT_EQ(file.url, file.type + "-1.ndjson");  // the set is below the split size
    const std::string text = ReadTextFile(out + "/" + file.url);
    EXPECT_EQ(file.sha256, Sha256Hex(text)) << file.url;
    EXPECT_EQ(file.bytes, static_cast<std::int64_t>(text.size())) << file.url;
    EXPECT_EQ(file.count, static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n')));
    counted[file.type] += file.count;
  }
  EXPECT_EQ(counted, live);
  struct stat info {};
  ASSERT_EQ(::stat(out.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);

  // Only some types; the Atom page URL carries the feed's filter and the
  // base URL given.
  const std::string some = tmp_.Sub("some");
  ProcessResult typed = Fhirsync({"snapshot", "--dir", node_, "--out", some, "--type",
                                  "Patient,Organization", "--base-url", "http://district:8080/"});
  ASSERT_EQ(typed.exit_code, 0) << typed.err;
  EXPECT_NE(typed.out.find("manifest.json"), std::string::npos) << typed.out;
  auto partial = ParseBulkManifest(ReadTextFile(some + "/manifest.json"));
  ASSERT_TRUE(partial.ok()) << partial.status();
  ASSERT_EQ(partial->output.size(), 2u);
  EXPECT_EQ(partial->output[0].type, "Organization");
  EXPECT_EQ(partial->output[1].type, "Patient");
  EXPECT_EQ(partial->fhirsync.atom_page_url.rfind("http://district:8080/feed/", 0), 0u);
  EXPECT_NE(partial->fhirsync.atom_page_url.find("?types=Organization,Patient"),
            std::string::npos);
}

TEST_F(SnapshotCliTest, Refusals) {
  InitNode();
  // An --out that holds something is never written into.
  const std::string full = tmp_.Sub("full");
  fs::create_directory(full);
  WriteTextFile(full + "/keep.txt", "mine");
  ProcessResult r = Fhirsync({"snapshot", "--dir", node_, "--out", full});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exists and is not empty"), std::string::npos) << r.err;
  EXPECT_EQ(ReadTextFile(full + "/keep.txt"), "mine");

  ProcessResult no_out = Fhirsync({"snapshot", "--dir", node_});
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_NE(no_out.err.find("--out DIR is required"), std::string::npos) << no_out.err;

  ProcessResult bad_type =
      Fhirsync({"snapshot", "--dir", node_, "--out", tmp_.Sub("x"), "--type", "visittype"});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_NE(bad_type.err.find("'visittype' is not a FHIR resource type"), std::string::npos)
      << bad_type.err;
  EXPECT_FALSE(fs::exists(tmp_.Sub("x")));

  ProcessResult help = Fhirsync({"snapshot", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: fhirsync snapshot"), std::string::npos);

  // An empty node: an empty snapshot, still a valid manifest.
  const std::string empty = tmp_.Sub("empty");
  ProcessResult nothing = Fhirsync({"snapshot", "--dir", node_, "--out", empty, "--json"});
  ASSERT_EQ(nothing.exit_code, 0) << nothing.err;
  auto manifest = ParseBulkManifest(ReadTextFile(empty + "/manifest.json"));
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_TRUE(manifest->output.empty());
  EXPECT_EQ(manifest->fhirsync.watermark_seq, 0);
}

}  // namespace
}  // namespace fhirsync::cli_test
