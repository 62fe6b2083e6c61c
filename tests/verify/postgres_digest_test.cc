// ScanDigest on PostgreSQL: the same entries in the same (byte) order as on
// SQLite, and a verify between a PostgreSQL parent and a SQLite child.

#include <gtest/gtest.h>

#include "fhirsync/digest.h"
#include "fhirsync/local_store.h"
#include "store/store_test_support.h"

namespace fhirsync {
namespace {

using ::fhirsync::testing::PostgresSchema;
using ::fhirsync::testing::ScratchDir;

class PeerOverStore : public DigestPeer {
 public:
  explicit PeerOverStore(LocalStore& store) : store_(store) {}
  StatusOr<std::vector<DigestRange>> TypeDigests() override { return StoreTypeDigests(store_); }
  StatusOr<std::vector<DigestRange>> Split(const std::string& type, const std::string& from_id,
                                           const std::string& to_id, int parts) override {
    return StoreSplitDigest(store_, type, from_id, to_id, parts);
  }
  StatusOr<std::vector<DigestEntry>> List(const std::string& type, const std::string& from_id,
                                          const std::string& to_id) override {
    return StoreListDigest(store_, type, from_id, to_id);
  }

 private:
  LocalStore& store_;
};

std::vector<WriteOp> MixedCaseIds() {
  std::vector<WriteOp> ops;
  // Upper case, lower case, digits, '-' and '.': a locale collation would
  // order these differently from bytes.
  const char* stems[] = {"a", "B", "b", "Z9", "z-1", "A.2", "0x", "-lead", "m.m", "M-M"};
  for (int k = 0; k < 40; ++k) {
    for (const char* stem : stems) {
      WriteOp op;
      op.type = "Patient";
      op.id = std::string(stem) + std::to_string(k);
      op.body = R"({"resourceType":"Patient","id":")" + op.id + R"(","gender":"other"})";
      ops.push_back(std::move(op));
    }
  }
  return ops;
}

TEST(PostgresDigestTest, OrderAndVerifyMatchSqlite) {
  PostgresSchema schema;
  StoreConfig pg_config;
  pg_config.backend = "postgresql";
  pg_config.connection = schema.connection();
  auto parent = OpenLocalStore(pg_config, "", "pg-parent");
  ASSERT_TRUE(parent.ok()) << parent.status().ToString();
  ScratchDir dir;
  StoreConfig sqlite_config;
  sqlite_config.path = dir.path() + "/child.sqlite";
  auto child = OpenLocalStore(sqlite_config, "", "child");
  ASSERT_TRUE(child.ok()) << child.status().ToString();

  std::vector<WriteOp> ops = MixedCaseIds();
  ASSERT_TRUE((*parent)->Import(ops, {.from_node = "root"}).ok());
  ASSERT_TRUE((*child)->Import(ops, {.from_node = "pg-parent"}).ok());

  auto pg_entries = (*parent)->ScanDigest({"Patient", "", "", 100000});
  auto sqlite_entries = (*child)->ScanDigest({"Patient", "", "", 100000});
  ASSERT_TRUE(pg_entries.ok()) << pg_entries.status().ToString();
  ASSERT_TRUE(sqlite_entries.ok());
  ASSERT_EQ(pg_entries->size(), ops.size());
  ASSERT_EQ(sqlite_entries->size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ((*pg_entries)[i].id, (*sqlite_entries)[i].id) << "at " << i;
    EXPECT_EQ((*pg_entries)[i].content_hash, (*sqlite_entries)[i].content_hash);
    if (i > 0) {
      EXPECT_LT((*pg_entries)[i - 1].id, (*pg_entries)[i].id);
    }
  }
  auto bounded = (*parent)->ScanDigest({"Patient", "M", "a", 100000});
  ASSERT_TRUE(bounded.ok());
  for (const DigestEntry& e : *bounded) {
    EXPECT_TRUE(e.id >= "M" && e.id < "a") << e.id;
  }

  WriteOp changed = ops[123];
  changed.body = R"({"resourceType":"Patient","id":")" + changed.id + R"(","gender":"female"})";
  ASSERT_TRUE((*parent)->Put(changed).ok());
  PeerOverStore peer(**parent);
  VerifyOptions options;
  options.list_threshold = 16;
  auto report = VerifyWithPeer(**child, peer, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->findings.size(), 1u);
  EXPECT_EQ(report->findings[0].id, changed.id);
  EXPECT_EQ(report->findings[0].kind, VerifyDifference::kDifferent);
  EXPECT_EQ(report->findings[0].fix_action, "pull");
}

}  // namespace
}  // namespace fhirsync
