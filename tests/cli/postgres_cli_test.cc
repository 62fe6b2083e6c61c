// `fhirsync` on the PostgreSQL backend: init with --backend postgresql, then
// the same verbs as on SQLite, against a fresh schema on the fixture's
// throwaway cluster.

#include <filesystem>

#include "cli_harness.h"
#include "fhirsync/config.h"
#include "store/store_test_support.h"

namespace fhirsync::cli_test {
namespace {

TEST_F(CliTest, PostgresNodeRoundTrip) {
  fhirsync::testing::PostgresSchema schema;
  ProcessResult init = Fhirsync({"init", "--dir", node_, "--node-id", "pg-node", "--backend",
                                 "postgresql", "--connection", schema.connection()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  StatusOr<NodeConfig> config = LoadNodeConfig(node_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->store.backend, "postgresql");
  EXPECT_EQ(config->store.connection, schema.connection());

  std::string file = kTestData + "/fhir-r4-bulk/Organization.000.ndjson";
  rapidjson::Document summary = RunJson("import", {file});
  const std::int64_t imported = summary["resources"].GetInt64();
  EXPECT_GT(imported, 0);

  WriteTextFile(tmp_.Sub("p.json"), R"({"resourceType":"Patient","id":"pg1","gender":"other"})");
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  rapidjson::Document got = RunJson("get", {"Patient/pg1"});
  EXPECT_STREQ(got["resource"]["gender"].GetString(), "other");
  ProcessResult stale = Run("put", {tmp_.Sub("p.json"), "--if-match", "5"});
  EXPECT_EQ(stale.exit_code, 3) << stale.err;
  ASSERT_EQ(Run("delete", {"Patient/pg1"}).exit_code, 0);
  EXPECT_EQ(Run("get", {"Patient/pg1"}).exit_code, 1);

  rapidjson::Document stats = RunJson("stats");
  EXPECT_EQ(stats["live"].GetInt64(), imported);
  EXPECT_EQ(stats["deleted"].GetInt64(), 1);
  EXPECT_EQ(stats["last_seq"].GetInt64(), imported + 2);
}

TEST_F(CliTest, PostgresUnreachableIsReportedAndNoConfigIsWritten) {
  // A unix socket folder with no server in it: nothing listens there.
  ProcessResult r = Fhirsync({"init", "--dir", node_, "--backend", "postgresql", "--connection",
                              "host=" + tmp_.path() + " port=5 dbname=none connect_timeout=5"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fhirsync init: cannot open the store: "), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(node_)) << "the folder init made is removed again";
}

}  // namespace
}  // namespace fhirsync::cli_test
