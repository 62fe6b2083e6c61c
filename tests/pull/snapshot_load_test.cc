// Snapshot loading (fhirsync/snapshot_load.h) from folders written here
// with WriteBulkManifest, on both store backends: counts, the agreement
// recorded as a pull records it, the cursor at the watermark, a load cut
// in the middle and continued, a new job loaded again changing nothing; and
// folders refused before anything is loaded (a changed byte, a missing or
// extra file, a count changed in the manifest).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/local_store.h"
#include "fhirsync/snapshot_load.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

constexpr char kNode[] = "child-1";
constexpr char kParent[] = "district";
constexpr char kFeedPosition[] = "atom-position-after-watermark";

std::string Line(const std::string& type, int i, int version) {
  return R"({"resourceType":")" + type + R"(","id":")" + type.substr(0, 3) + "-" +
         std::to_string(i) + R"(","meta":{"versionId":")" + std::to_string(version) +
         R"("},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">)" +
         std::to_string(i) + R"(</div>"}})";
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Writes a folder as `fhirsync snapshot --out` does: one NDJSON file per
// type and manifest.json with each file's count, bytes and sha256.
BulkManifest WriteSnapshotFolder(const std::string& dir,
                                 const std::vector<std::pair<std::string, int>>& files) {
  BulkManifest manifest;
  manifest.transaction_time = "2026-12-07T20:00:00.123Z";
  manifest.request = "http://parent.example/fhir/$export";
  manifest.has_fhirsync = true;
  manifest.fhirsync.node_id = kParent;
  manifest.fhirsync.watermark_seq = 42;
  manifest.fhirsync.atom_page_url = "http://parent.example/feed/1";
  manifest.fhirsync.atom_entry_id = "urn:uuid:42";
  for (const auto& [type, count] : files) {
    std::string text;
    for (int i = 0; i < count; ++i) text += Line(type, i, 1 + i % 3) + "\n";
    BulkOutputFile file;
    file.type = type;
    file.url = type + ".ndjson";
    file.count = count;
    file.bytes = static_cast<std::int64_t>(text.size());
    file.sha256 = Sha256Hex(text);
    WriteText(dir + "/" + file.url, text);
    manifest.output.push_back(file);
  }
  WriteText(dir + "/manifest.json", WriteBulkManifest(manifest));
  return manifest;
}

// A folder source that fails once `fail_after` bytes of file `fail_file`
// have been handed on (a connection cut mid-file).
class CutSource : public SnapshotSource {
 public:
  CutSource(std::string dir, std::string fail_file, std::int64_t fail_after)
      : inner_(FolderSnapshotSource(std::move(dir))),
        fail_file_(std::move(fail_file)),
        fail_after_(fail_after) {}
  Status ReadFile(const BulkOutputFile& file, std::int64_t from_byte,
                  const std::function<bool(std::string_view)>& sink) override {
    if (file.url != fail_file_) return inner_->ReadFile(file, from_byte, sink);
    std::int64_t given = 0;
    bool cut = false;
    Status read = inner_->ReadFile(file, from_byte, [&](std::string_view chunk) {
      // Hand on in small pieces, so the cut lands mid-line.
      while (!chunk.empty()) {
        const std::size_t n = std::min<std::size_t>(chunk.size(), 97);
        if (given + static_cast<std::int64_t>(n) > fail_after_) {
          cut = true;
          return false;
        }
        if (!sink(chunk.substr(0, n))) return false;
        given += static_cast<std::int64_t>(n);
        chunk.remove_prefix(n);
      }
      return true;
    });
    if (cut) return UnavailableError("connection cut after " + std::to_string(given) + " bytes");
    return read;
  }

 private:
  std::unique_ptr<SnapshotSource> inner_;
  std::string fail_file_;
  std::int64_t fail_after_;
};

SnapshotLoadOptions Options(const std::string& job) {
  SnapshotLoadOptions options;
  options.parent_node_id = kParent;
  options.feed = "atom";
  options.feed_position = kFeedPosition;
  options.job = job;
  options.transport = "folder";
  options.page_resources = 50;
  return options;
}

class SnapshotLoadTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") schema_ = std::make_unique<testing::PostgresSchema>();
    StoreConfig config;
    config.backend = GetParam();
    if (schema_) config.connection = schema_->connection();
    auto store = OpenLocalStore(config, store_dir_.path(), kNode);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
  }

  std::optional<PullCursor> Cursor() {
    auto cursor = store_->GetCursor(kParent);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? *cursor : std::nullopt;
  }

  // Every resource of the snapshot is held at one local version, agreed at
  // the parent's version.
  void ExpectHeldOnceAgreed(const BulkManifest& manifest) {
    std::vector<std::pair<std::string, std::string>> keys;
    std::int64_t total = 0;
    for (const BulkOutputFile& file : manifest.output) {
      for (int i = 0; i < file.count; ++i) {
        keys.emplace_back(file.type, file.type.substr(0, 3) + "-" + std::to_string(i));
      }
      total += file.count;
    }
    auto states = store_->GetSyncStates(keys);
    ASSERT_TRUE(states.ok()) << states.status();
    ASSERT_EQ(static_cast<std::int64_t>(states->size()), total);
    for (const SyncState& state : *states) {
      const int i = std::stoi(state.id.substr(4));
      EXPECT_EQ(state.remote_version, std::to_string(1 + i % 3)) << state.type << "/" << state.id;
      EXPECT_EQ(state.local_version, 1) << state.type << "/" << state.id;
    }
    ChangeQuery query;
    query.limit = 100000;
    auto changes = store_->Changes(query);
    ASSERT_TRUE(changes.ok()) << changes.status();
    EXPECT_EQ(static_cast<std::int64_t>(changes->size()), total);
    auto outbox = store_->PendingOutbox(10);
    ASSERT_TRUE(outbox.ok());
    EXPECT_TRUE(outbox->empty());
  }

  testing::ScratchDir store_dir_;
  testing::ScratchDir snapshot_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<LocalStore> store_;
};

TEST_P(SnapshotLoadTest, LoadsAFolderRecordsTheAgreementAndEndsAtTheWatermark) {
  const BulkManifest written =
      WriteSnapshotFolder(snapshot_.path(), {{"Patient", 230}, {"Observation", 120}});
  auto manifest = VerifySnapshotFolder(snapshot_.path());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(*manifest, written);
  auto source = FolderSnapshotSource(snapshot_.path());
  int progress_calls = 0;
  auto summary = LoadSnapshot(store_.get(), *source, *manifest, Options("job-1"),
                              [&](const PullSummary&) { ++progress_calls; });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(summary->from_snapshot);
  EXPECT_EQ(summary->fetched, 350);
  EXPECT_EQ(summary->applied, 350);
  EXPECT_EQ(summary->rejected, 0);
  EXPECT_EQ(summary->snapshot_files, 2);
  EXPECT_GE(progress_calls, 350 / 50);
  auto cursor = Cursor();
  ASSERT_TRUE(cursor.has_value());
  EXPECT_EQ(cursor->feed, "atom");
  EXPECT_EQ(cursor->position, kFeedPosition);
  ExpectHeldOnceAgreed(*manifest);

  AuditQuery audit;
  audit.operation = "pull-snapshot";
  auto rows = store_->QueryAudit(audit);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_THAT(rows->front().message, HasSubstr("change 42"));

  // Loaded once: a second load is refused and writes nothing.
  auto again = LoadSnapshot(store_.get(), *source, *manifest, Options("job-1"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("before the first pull"));
  ExpectHeldOnceAgreed(*manifest);
}

TEST_P(SnapshotLoadTest, ACutLoadContinuesWhereItStoppedAndANewJobChangesNothing) {
  WriteSnapshotFolder(snapshot_.path(), {{"Patient", 230}, {"Observation", 120}});
  auto manifest = VerifySnapshotFolder(snapshot_.path());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const std::int64_t cut_at = manifest->output[1].bytes / 2;
  CutSource cut(snapshot_.path(), "Observation.ndjson", cut_at);
  auto first = LoadSnapshot(store_.get(), cut, *manifest, Options("job-1"));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable);
  auto cursor = Cursor();
  ASSERT_TRUE(cursor.has_value());
  EXPECT_EQ(cursor->feed, kSnapshotFeed);
  auto job = SnapshotJobInProgress(store_.get(), kParent);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->value_or(""), "job-1");

  // The same job: continues at the last page applied; each resource once.
  auto source = FolderSnapshotSource(snapshot_.path());
  auto rest = LoadSnapshot(store_.get(), *source, *manifest, Options("job-1"));
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->snapshot_files, 1);  // the Patient file was done
  EXPECT_LT(rest->fetched, 120);
  EXPECT_EQ(rest->skipped, 0);
  EXPECT_EQ(Cursor()->position, kFeedPosition);
  ExpectHeldOnceAgreed(*manifest);
}

TEST_P(SnapshotLoadTest, AnotherJobAfterACutStartsOverAndAppliesNothingTwice) {
  WriteSnapshotFolder(snapshot_.path(), {{"Patient", 230}, {"Observation", 120}});
  auto manifest = VerifySnapshotFolder(snapshot_.path());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  CutSource cut(snapshot_.path(), "Observation.ndjson", manifest->output[1].bytes / 3);
  ASSERT_FALSE(LoadSnapshot(store_.get(), cut, *manifest, Options("job-1")).ok());
  // The parent forgot job-1: a new export, loaded from its first file.
  auto source = FolderSnapshotSource(snapshot_.path());
  auto again = LoadSnapshot(store_.get(), *source, *manifest, Options("job-2"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->fetched, 350);
  EXPECT_GE(again->skipped, 230);  // already agreed at that version
  EXPECT_EQ(again->applied + again->skipped, 350);
  ExpectHeldOnceAgreed(*manifest);
}

TEST_P(SnapshotLoadTest, RefusesAnotherNodesSnapshotAndOverlongLines) {
  WriteSnapshotFolder(snapshot_.path(), {{"Patient", 10}});
  auto manifest = VerifySnapshotFolder(snapshot_.path());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  auto source = FolderSnapshotSource(snapshot_.path());
  SnapshotLoadOptions other = Options("job-1");
  other.parent_node_id = "someone-else";
  auto refused = LoadSnapshot(store_.get(), *source, *manifest, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("'district'"));

  SnapshotLoadOptions small = Options("job-1");
  small.max_line_bytes = 40;
  auto too_long = LoadSnapshot(store_.get(), *source, *manifest, small);
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.status().message(), HasSubstr("Patient.ndjson line 1"));
  EXPECT_THAT(too_long.status().message(), HasSubstr("limit of 40 bytes (parent.max_answer_bytes)"));
  EXPECT_FALSE(Cursor().has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotLoadTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

// Folders refused before anything is loaded.
class SnapshotFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSnapshotFolder(dir_.path(), {{"Patient", 20}, {"Observation", 15}});
    ASSERT_TRUE(VerifySnapshotFolder(dir_.path()).ok());
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  testing::ScratchDir dir_;
};

TEST_F(SnapshotFolderTest, AChangedByteIsRefusedNamingTheFile) {
  std::string text = ReadText(Path("Observation.ndjson"));
  text[text.size() / 2] = text[text.size() / 2] == '1' ? '2' : '1';
  WriteText(Path("Observation.ndjson"), text);
  auto refused = VerifySnapshotFolder(dir_.path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("Observation.ndjson"));
  EXPECT_THAT(refused.status().message(), HasSubstr("sha256"));
}

TEST_F(SnapshotFolderTest, AMissingOrExtraFileIsRefusedNamingIt) {
  std::filesystem::rename(Path("Patient.ndjson"), Path("Patient.bak"));
  auto missing = VerifySnapshotFolder(dir_.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("Patient.ndjson is missing"));
  std::filesystem::rename(Path("Patient.bak"), Path("Patient.ndjson"));
  WriteText(Path("Extra.ndjson"), "{}\n");
  auto extra = VerifySnapshotFolder(dir_.path());
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(extra.status().message(), HasSubstr("'Extra.ndjson'"));
}

TEST_F(SnapshotFolderTest, AManifestWhoseCountOrSizeWasChangedIsRefused) {
  auto manifest = ParseBulkManifest(ReadText(Path("manifest.json")));
  ASSERT_TRUE(manifest.ok());
  BulkManifest changed = *manifest;
  changed.output[0].count += 1;
  WriteText(Path("manifest.json"), WriteBulkManifest(changed));
  auto count = VerifySnapshotFolder(dir_.path());
  ASSERT_FALSE(count.ok());
  EXPECT_THAT(count.status().message(), HasSubstr("Patient.ndjson holds 20 resources"));
  changed = *manifest;
  changed.output[1].bytes -= 1;
  WriteText(Path("manifest.json"), WriteBulkManifest(changed));
  auto bytes = VerifySnapshotFolder(dir_.path());
  ASSERT_FALSE(bytes.ok());
  EXPECT_THAT(bytes.status().message(), HasSubstr("Observation.ndjson has"));
  changed = *manifest;
  changed.output[1].sha256.clear();
  changed.output[1].bytes = -1;
  WriteText(Path("manifest.json"), WriteBulkManifest(changed));
  auto unproven = VerifySnapshotFolder(dir_.path());
  ASSERT_FALSE(unproven.ok());
  EXPECT_THAT(unproven.status().message(), HasSubstr("cannot be proven whole"));
}

}  // namespace
}  // namespace fhirsync
