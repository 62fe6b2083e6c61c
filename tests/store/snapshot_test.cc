// The snapshot writer (fhirsync/snapshot.h) on every backend: what the
// files hold, their digests against the manifest, and consistency with the
// watermark while writes land during the scan.

#include "fhirsync/snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/local_store.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kNode[] = "parent-node";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// (type/id) -> version, from an NDJSON file's lines (each checked as FHIR).
std::map<std::string, std::int64_t> VersionsIn(const std::string& ndjson) {
  std::map<std::string, std::int64_t> out;
  std::istringstream lines(ndjson);
  std::string line;
  while (std::getline(lines, line)) {
    auto info = InspectFhirBody(line);
    EXPECT_TRUE(info.ok()) << info.status() << ": " << line;
    if (!info.ok()) continue;
    const std::string marker = "\"versionId\":\"";
    const auto at = line.find(marker);
    EXPECT_NE(at, std::string::npos) << line;
    if (at == std::string::npos) continue;
    out[info->resource_type + "/" + info->id] = std::stoll(line.substr(at + marker.size()));
  }
  return out;
}

class SnapshotTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    StoreConfig config;
    config.backend = GetParam();
    if (GetParam() == "postgresql") {
      schema_ = std::make_unique<testing::PostgresSchema>();
      config.connection = schema_->connection();
    }
    auto store = OpenLocalStore(config, dir_.path(), kNode);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    out_ = dir_.path() + "/out";
    fs::create_directory(out_);
  }

  WriteResult Put(const std::string& type, const std::string& id, const std::string& extra = "") {
    WriteOp op;
    op.type = type;
    op.id = id;
    op.body = "{\"resourceType\":\"" + type + "\",\"id\":\"" + id + "\"" + extra + "}";
    auto written = store_->Put(op);
    EXPECT_TRUE(written.ok()) << written.status();
    return written.ok() ? *written : WriteResult{};
  }

  SnapshotOptions Options() {
    SnapshotOptions options;
    options.node_id = kNode;
    options.base_url = "http://parent.example:8080";
    options.feed_page_size = 10;
    options.scan_page = 2;  // many pages, so writes land between them
    return options;
  }

  // Every file of the manifest read back, its digest and size checked.
  std::map<std::string, std::int64_t> ReadAndCheck(const BulkManifest& manifest) {
    std::map<std::string, std::int64_t> versions;
    for (const BulkOutputFile& file : manifest.output) {
      const std::string text = ReadFile(out_ + "/" + file.url);
      EXPECT_EQ(file.sha256, Sha256Hex(text)) << file.url;
      EXPECT_EQ(file.bytes, static_cast<std::int64_t>(text.size())) << file.url;
      auto in_file = VersionsIn(text);
      EXPECT_EQ(file.count, static_cast<std::int64_t>(in_file.size())) << file.url;
      for (const auto& [key, version] : in_file) {
        EXPECT_EQ(key.substr(0, key.find('/')), file.type);
        EXPECT_TRUE(versions.emplace(key, version).second) << key << " twice";
      }
    }
    return versions;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<LocalStore> store_;
  std::string out_;
};

TEST_P(SnapshotTest, FilesHoldTheLiveResourcesWithTheirVersionsAndDigests) {
  for (const char* id : {"p1", "p2", "p3", "p4", "p5"}) Put("Patient", id);
  Put("Patient", "p2", ",\"gender\":\"female\"");  // version 2
  Put("Observation", "o1");
  ASSERT_TRUE(store_->Delete("Patient", "p4").ok());
  // An OpenMRS REST representation is not FHIR: not in a snapshot.
  WriteOp rest;
  rest.type = "visittype";
  rest.id = "v1";
  rest.format = ResourceFormat::kOpenmrsRest;
  rest.body = R"({"uuid":"v1","display":"Clinic"})";
  ASSERT_TRUE(store_->Put(rest).ok());
  auto last = store_->LastSeq();
  ASSERT_TRUE(last.ok());

  FolderSnapshotSink sink({out_, nullptr, /*gzip_copy=*/true});
  SnapshotOptions options = Options();
  options.resources_per_file = 2;
  options.request = "fhirsync snapshot";
  auto manifest = WriteSnapshot(*store_, options, sink);
  ASSERT_TRUE(manifest.ok()) << manifest.status();

  EXPECT_EQ(manifest->fhirsync.watermark_seq, *last);
  EXPECT_EQ(manifest->fhirsync.node_id, kNode);
  EXPECT_EQ(manifest->fhirsync.atom_page_url, "http://parent.example:8080/feed/1");
  EXPECT_THAT(manifest->fhirsync.atom_entry_id, HasSubstr("tag:atomfeed.ict4h.org:"));
  EXPECT_EQ(manifest->request, "fhirsync snapshot");
  // Observation (1 file), then Patient split at 2 resources (4 live: 2 files).
  ASSERT_EQ(manifest->output.size(), 3u);
  EXPECT_EQ(manifest->output[0].url, "Observation-1.ndjson");
  EXPECT_EQ(manifest->output[1].url, "Patient-1.ndjson");
  EXPECT_EQ(manifest->output[2].url, "Patient-2.ndjson");
  EXPECT_EQ(sink.file_names(), (std::vector<std::string>{"Observation-1.ndjson",
                                                         "Patient-1.ndjson", "Patient-2.ndjson"}));
  for (const std::string& name : sink.file_names()) {
    EXPECT_TRUE(fs::exists(out_ + "/" + name + ".gz")) << name;
    EXPECT_EQ(fs::status(out_ + "/" + name).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
  }

  auto versions = ReadAndCheck(*manifest);
  EXPECT_EQ(versions, (std::map<std::string, std::int64_t>{{"Observation/o1", 1},
                                                           {"Patient/p1", 1},
                                                           {"Patient/p2", 2},
                                                           {"Patient/p3", 1},
                                                           {"Patient/p5", 1}}));
  // The manifest is the shared format, read back whole.
  auto parsed = ParseBulkManifest(WriteBulkManifest(*manifest));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, *manifest);
}

TEST_P(SnapshotTest, AWriteAfterTheWatermarkIsAbsentOrNewer) {
  for (int i = 0; i < 12; ++i) Put("Patient", "p" + std::to_string(10 + i));
  auto watermark = store_->LastSeq();
  ASSERT_TRUE(watermark.ok());

  // Writes land while the snapshot is cut: after the watermark, before the
  // scan reaches them (and behind it).
  int calls = 0;
  SnapshotOptions options = Options();
  options.types = {"Patient"};
  options.on_progress = [&](const SnapshotProgress& progress) -> Status {
    EXPECT_EQ(progress.watermark_seq, *watermark);
    if (++calls == 2) {  // after the first page (p10, p11)
      Put("Patient", "p10", ",\"gender\":\"male\"");  // already written: stays v1
      Put("Patient", "p20", ",\"gender\":\"male\"");  // ahead: v2
      Put("Patient", "p99");                          // new, ahead: present
      Put("Patient", "p00");                          // new, behind: absent
      EXPECT_TRUE(store_->Delete("Patient", "p15").ok());  // ahead: absent
    }
    return Status::Ok();
  };
  FolderSnapshotSink sink({out_, nullptr, false});
  auto manifest = WriteSnapshot(*store_, options, sink);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->fhirsync.watermark_seq, *watermark);
  EXPECT_EQ(manifest->fhirsync.atom_page_url, "http://parent.example:8080/feed/2?types=Patient");
  auto versions = ReadAndCheck(*manifest);

  // Every resource live at W and not deleted since is in, at its version at
  // W or newer; nothing is in at a version older than at W.
  for (int i = 0; i < 12; ++i) {
    const std::string key = "Patient/p" + std::to_string(10 + i);
    if (i == 5) {
      EXPECT_EQ(versions.count(key), 0u) << key;
      continue;
    }
    ASSERT_EQ(versions.count(key), 1u) << key;
    EXPECT_GE(versions[key], 1);
  }
  EXPECT_EQ(versions["Patient/p10"], 1);
  EXPECT_EQ(versions["Patient/p20"], 2);
  EXPECT_EQ(versions.count("Patient/p99"), 1u);
  EXPECT_EQ(versions.count("Patient/p00"), 0u);

  // And each change after W that the snapshot does not show is in the feed
  // after W, which is what the child reads next.
  ChangeQuery after;
  after.after_seq = *watermark;
  auto changes = store_->Changes(after);
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->size(), 5u);
}

TEST_P(SnapshotTest, SinceKeepsOnlyResourcesUpdatedFromThen) {
  WriteResult old = Put("Patient", "old");
  // The next write must carry a later millisecond (a deadline, not a sleep).
  for (int i = 0; i < 1000000 && NowMillis() <= old.last_updated_ms; ++i) {
  }
  ASSERT_GT(NowMillis(), old.last_updated_ms);
  WriteResult fresh = Put("Patient", "new");
  Put("Encounter", "e1");
  ASSERT_GT(fresh.last_updated_ms, old.last_updated_ms);

  SnapshotOptions options = Options();
  options.since_ms = fresh.last_updated_ms;
  FolderSnapshotSink sink({out_, nullptr, false});
  auto manifest = WriteSnapshot(*store_, options, sink);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  auto versions = ReadAndCheck(*manifest);
  EXPECT_EQ(versions, (std::map<std::string, std::int64_t>{{"Encounter/e1", 1},
                                                           {"Patient/new", 1}}));
}

TEST_P(SnapshotTest, AnEmptyStoreAndRefusals) {
  FolderSnapshotSink sink({out_, nullptr, false});
  auto empty = WriteSnapshot(*store_, Options(), sink);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->fhirsync.watermark_seq, 0);
  EXPECT_TRUE(empty->fhirsync.atom_page_url.empty());
  EXPECT_TRUE(empty->output.empty());
  EXPECT_TRUE(ParseBulkManifest(WriteBulkManifest(*empty)).ok());

  SnapshotOptions bad = Options();
  bad.types = {"visittype"};
  auto refused = WriteSnapshot(*store_, bad, sink);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("'visittype' is not a FHIR resource type"));

  // A hook's refusal stops it with that status (a cancelled job).
  Put("Patient", "p1");
  SnapshotOptions cancelled = Options();
  cancelled.on_progress = [](const SnapshotProgress&) { return AbortedError("cancelled"); };
  auto stopped = WriteSnapshot(*store_, cancelled, sink);
  EXPECT_EQ(stopped.status().code(), StatusCode::kAborted);
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace fhirsync
