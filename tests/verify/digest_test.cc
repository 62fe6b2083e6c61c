// Range digests and the verify walk on two real SQLite stores, the parent
// reached in-process through the same functions its $digest endpoint uses.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhirsync/digest.h"
#include "fhirsync/local_store.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::fhirsync::testing::TempDir;

// The parent as the $digest handler answers, without HTTP.
class StorePeer : public DigestPeer {
 public:
  explicit StorePeer(LocalStore& store) : store_(store) {}
  StatusOr<std::vector<DigestRange>> TypeDigests() override { return StoreTypeDigests(store_); }
  StatusOr<std::vector<DigestRange>> Split(const std::string& type, const std::string& from_id,
                                           const std::string& to_id, int parts) override {
    ++splits;
    return StoreSplitDigest(store_, type, from_id, to_id, parts);
  }
  StatusOr<std::vector<DigestEntry>> List(const std::string& type, const std::string& from_id,
                                          const std::string& to_id) override {
    ++lists;
    return StoreListDigest(store_, type, from_id, to_id);
  }
  int splits = 0;
  int lists = 0;

 private:
  LocalStore& store_;
};

std::unique_ptr<LocalStore> Open(const TempDir& dir, const std::string& name) {
  StoreConfig config;
  config.path = dir.Sub(name + ".sqlite");
  auto store = OpenLocalStore(config, "", name);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return std::move(*store);
}

WriteOp Patient(const std::string& id, const std::string& family) {
  WriteOp op;
  op.type = "Patient";
  op.id = id;
  op.body = R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
            R"("}]})";
  return op;
}

void Fill(LocalStore& store, int n, const std::string& from_node) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "p%05d", i);
    ops.push_back(Patient(id, "Family" + std::to_string(i)));
  }
  WriteOptions options;
  options.from_node = from_node;
  ASSERT_TRUE(store.Import(ops, options).ok());
}

TEST(DigestTest, SplitCoversTheRangeExactlyWithEqualParts) {
  std::vector<DigestEntry> entries;
  for (int i = 0; i < 10; ++i) entries.push_back({"id" + std::to_string(i), 1, "h", 0});
  std::vector<DigestRange> ranges = SplitDigestRanges("Patient", entries, "", "", 3);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0].from_id, "");
  EXPECT_EQ(ranges[2].to_id, "");
  std::int64_t total = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    total += ranges[i].count;
    if (i + 1 < ranges.size()) {
      EXPECT_EQ(ranges[i].to_id, ranges[i + 1].from_id);
    }
    auto slice = EntriesInRange(entries, ranges[i].from_id, ranges[i].to_id);
    EXPECT_EQ(static_cast<std::int64_t>(slice.size()), ranges[i].count);
    EXPECT_EQ(DigestOf(slice), ranges[i].digest);
  }
  EXPECT_EQ(total, 10);
  std::vector<DigestRange> empty = SplitDigestRanges("Patient", {}, "a", "b", 16);
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].count, 0);
  EXPECT_EQ(empty[0].digest, DigestOf({}));
}

TEST(DigestTest, DigestDependsOnContentHashNotVersion) {
  std::vector<DigestEntry> a{{"x", 1, "hash1", 10}};
  std::vector<DigestEntry> b{{"x", 7, "hash1", 99}};
  std::vector<DigestEntry> c{{"x", 1, "hash2", 10}};
  EXPECT_EQ(DigestOf(a), DigestOf(b));
  EXPECT_NE(DigestOf(a), DigestOf(c));
}

TEST(DigestTest, StoreScanIsOrderedAndBounded) {
  TempDir dir;
  auto store = Open(dir, "node");
  Fill(*store, 50, "");
  ASSERT_TRUE(store->Delete("Patient", "p00010").ok());
  auto all = store->ScanDigest({"Patient", "", "", 1000});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 49u);  // the deleted one is left out
  for (std::size_t i = 1; i < all->size(); ++i) EXPECT_LT((*all)[i - 1].id, (*all)[i].id);
  auto some = store->ScanDigest({"Patient", "p00005", "p00020", 1000});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->size(), 14u);  // 5..19 without 10
  EXPECT_EQ(some->front().id, "p00005");
  EXPECT_EQ(some->back().id, "p00019");
  auto bad = store->ScanDigest({"Patient", "", "", -1});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(DigestTest, EndpointFunctionsRefuseBadParameters) {
  TempDir dir;
  auto store = Open(dir, "parent");
  Fill(*store, 20, "");
  auto zero = StoreSplitDigest(*store, "Patient", "", "", 0);
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zero.status().message().find("parts must be between 1 and 64"), std::string::npos);
  auto many = StoreSplitDigest(*store, "Patient", "", "", 65);
  EXPECT_EQ(many.status().code(), StatusCode::kInvalidArgument);
  auto backwards = StoreSplitDigest(*store, "Patient", "p9", "p1", 4);
  EXPECT_EQ(backwards.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(backwards.status().message().find("empty range"), std::string::npos);
}

TEST(DigestTest, WalkNamesEachKindOfDifferenceWithItsFix) {
  TempDir dir;
  auto parent = Open(dir, "parent");
  auto child = Open(dir, "child");
  Fill(*parent, 2000, "");
  Fill(*child, 2000, "parent");  // as if pulled: no outbox rows
  ASSERT_TRUE(parent->Put(Patient("p00100", "ChangedOnParent")).ok());
  ASSERT_TRUE(parent->Put(Patient("p10000", "OnlyOnParent")).ok());
  ASSERT_TRUE(child->Put(Patient("p00700", "EditedHere")).ok());  // queued locally
  ASSERT_TRUE(child->Delete("Patient", "p01500", {.from_node = "parent"}).ok());

  StorePeer peer(*parent);
  VerifyOptions options;
  options.node_dir = "/nodes/tablet";
  auto report = VerifyWithPeer(*child, peer, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->findings.size(), 4u);
  const VerifyFinding& changed = report->findings[0];
  EXPECT_EQ(changed.id, "p00100");
  EXPECT_EQ(changed.kind, VerifyDifference::kDifferent);
  EXPECT_EQ(changed.fix_action, "pull");
  EXPECT_EQ(changed.fix_command, "fhirsync sync --dir /nodes/tablet --pull --once");
  const VerifyFinding& edited = report->findings[1];
  EXPECT_EQ(edited.id, "p00700");
  EXPECT_EQ(edited.kind, VerifyDifference::kDifferent);
  EXPECT_TRUE(edited.local_change_queued);
  EXPECT_EQ(edited.fix_action, "push");
  const VerifyFinding& gone_here = report->findings[2];
  EXPECT_EQ(gone_here.id, "p01500");
  EXPECT_EQ(gone_here.kind, VerifyDifference::kMissingHere);
  EXPECT_EQ(gone_here.fix_action, "pull");
  const VerifyFinding& only_parent = report->findings[3];
  EXPECT_EQ(only_parent.id, "p10000");
  EXPECT_EQ(only_parent.kind, VerifyDifference::kMissingHere);
  // Narrowed down, not listed in full.
  EXPECT_LT(report->entries_listed, 2000);
  EXPECT_GT(peer.splits, 0);

  // The other way round: a resource only the child holds, not queued.
  auto reverse = VerifyWithPeer(*parent, peer, options);
  ASSERT_TRUE(reverse.ok());
  EXPECT_TRUE(reverse->in_sync());

  auto only_child = Open(dir, "lonely");
  ASSERT_TRUE(only_child->Import(std::vector<WriteOp>{Patient("solo", "X")},
                                 {.from_node = "parent"}).ok());
  VerifyOptions type_options = options;
  type_options.types = {"Patient"};
  auto lonely = VerifyWithPeer(*only_child, peer, type_options);
  ASSERT_TRUE(lonely.ok());
  ASSERT_EQ(lonely->findings.size(), 2002u);  // 2001 missing here, 1 missing on parent
  bool found = false;
  for (const VerifyFinding& f : lonely->findings) {
    if (f.id != "solo") continue;
    found = true;
    EXPECT_EQ(f.kind, VerifyDifference::kMissingOnParent);
    EXPECT_EQ(f.fix_action, "resubmit");
    EXPECT_EQ(f.fix_command.rfind("fhirsync resubmit --dir /nodes/tablet --from ", 0), 0u);
  }
  EXPECT_TRUE(found);
}

TEST(DigestTest, WalkRefusesBadOptions) {
  TempDir dir;
  auto store = Open(dir, "node");
  StorePeer peer(*store);
  VerifyOptions options;
  options.parts = 1;
  auto report = VerifyWithPeer(*store, peer, options);
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("parts must be between 2 and 64"), std::string::npos);
}

}  // namespace
}  // namespace fhirsync
