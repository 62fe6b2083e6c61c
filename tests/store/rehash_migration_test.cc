// Schema version 4: a store written by an older build (hashes of the text in
// its member order) has every content hash recomputed canonically when it is
// opened, on both backends.

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/local_store.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

class RehashMigrationTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      config_.backend = "sqlite";
      config_.path = dir_.path() + "/store.sqlite";
    } else {
      schema_ = std::make_unique<testing::PostgresSchema>();
      config_.backend = "postgresql";
      config_.connection = schema_->connection();
    }
  }

  // A raw connection to the store's database, as an older build left it.
  Poco::Data::Session Raw() {
    if (GetParam() == "sqlite") {
      Poco::Data::SQLite::Connector::registerConnector();
      return Poco::Data::Session(Poco::Data::SQLite::Connector::KEY, config_.path);
    }
    Poco::Data::PostgreSQL::Connector::registerConnector();
    return Poco::Data::Session(Poco::Data::PostgreSQL::Connector::KEY, config_.connection);
  }

  testing::ScratchDir dir_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  StoreConfig config_;
};

TEST_P(RehashMigrationTest, OlderHashesAreRecomputedCanonically) {
  {
    auto store = OpenLocalStore(config_, dir_.path(), "n1");
    ASSERT_TRUE(store.ok()) << store.status();
    for (const char* id : {"a", "b"}) {
      WriteOp op;
      op.type = "Patient";
      op.id = id;
      op.body = std::string(R"({"resourceType":"Patient","gender":"male","name":[{"family":")") +
                id + R"("}]})";
      ASSERT_TRUE((*store)->Put(op).ok());
    }
  }
  {
    // What a version-3 build wrote: other hashes, and agreements recorded
    // with them ('a' agreed at its local version 1; 'b' agreed with a
    // parent copy of other content).
    Poco::Data::Session raw = Raw();
    raw << "UPDATE changes SET content_hash = 'legacy-' || id", now;
    if (GetParam() == "postgresql") {
      raw << "UPDATE resources SET content_hash = 'legacy-' || id", now;
    }
    raw << "INSERT INTO sync_state (type, id, remote_version, content_hash, local_version,"
           " agreed_ms) VALUES ('Patient', 'a', '7', 'legacy-a', 1, 0),"
           " ('Patient', 'b', '9', 'parent-content', 1, 0)",
        now;
    raw << "UPDATE meta SET value = '3' WHERE key = 'schema_version'", now;
    // Nor had it the outbox's state index (schema version 5).
    raw << "DROP INDEX outbox_pending", now;
  }
  auto store = OpenLocalStore(config_, dir_.path(), "n1");
  ASSERT_TRUE(store.ok()) << store.status();
  for (const char* id : {"a", "b"}) {
    auto resource = (*store)->Get("Patient", id);
    ASSERT_TRUE(resource.ok()) << resource.status();
    EXPECT_EQ(resource->content_hash, ContentHashOf(ResourceFormat::kFhirJson, resource->body))
        << id;
    EXPECT_EQ(resource->content_hash.size(), 64u);
  }
  auto agreed_a = (*store)->GetSyncState("Patient", "a");
  ASSERT_TRUE(agreed_a.ok() && agreed_a->has_value());
  EXPECT_EQ((*agreed_a)->content_hash, (*store)->Get("Patient", "a")->content_hash);
  auto agreed_b = (*store)->GetSyncState("Patient", "b");
  ASSERT_TRUE(agreed_b.ok() && agreed_b->has_value());
  EXPECT_EQ((*agreed_b)->content_hash, "parent-content");
  std::string version;
  Raw() << "SELECT value FROM meta WHERE key = 'schema_version'", into(version), now;
  EXPECT_EQ(version, "5");
  // Version 5's index is there again.
  Poco::Int64 indexes = 0;
  Raw() << (GetParam() == "postgresql"
                ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'outbox_pending'"
                  " AND schemaname = current_schema()"
                : "SELECT count(*) FROM sqlite_master WHERE name = 'outbox_pending'"),
      into(indexes), now;
  EXPECT_EQ(indexes, 1);
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, RehashMigrationTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace fhirsync
