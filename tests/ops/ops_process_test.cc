// The operations endpoints of a real `fhirsync serve` (integration): /healthz
// turning 503 when its PostgreSQL server goes away (a private throwaway
// cluster, so no other test loses its store), the figures a running
// `sync --watch` writes reaching the node's /metrics, and the admin API's
// status, pull now and push now on a child.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ops_nodes.h"
#include "support/prometheus_text.h"

namespace fhirsync::testing {
namespace {

// Polls `check` until it holds or `seconds` pass.
template <typename Check>
bool Eventually(Check check, int seconds = 30) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return check();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(HealthzProcessTest, AnswersWhileTheStoreAnswersAnd503WhenItIsGone) {
  TempDir tmp("fhirsync-healthz");
  const std::string connection_file = tmp.Sub("pg-connection.txt");
  ProcessResult started = RunProcess({PG_CLUSTER_SCRIPT, "start", connection_file});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  // The cluster is stopped (again) whatever happens below.
  std::shared_ptr<void> stop_cluster(nullptr, [&](void*) {
    RunProcess({PG_CLUSTER_SCRIPT, "stop", connection_file});
  });
  const std::string connection = ReadFile(connection_file);
  const std::string dir = tmp.Sub("node");
  ProcessResult init = Fhirsync({"init", "--dir", dir, "--node-id", "pg-parent", "--backend",
                                 "postgresql", "--connection", connection});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ServeProcess serve(FHIRSYNC_BINARY, dir);
  ASSERT_TRUE(serve.Start()) << serve.error();
  TestClient anonymous("127.0.0.1", serve.port(), "");
  Reply ok = anonymous.Get("/healthz");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body.rfind("ok: node pg-parent", 0), 0u) << ok.body;

  ProcessResult stopped = RunProcess({PG_CLUSTER_SCRIPT, "stop", connection_file});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  Reply gone;
  EXPECT_TRUE(Eventually([&] {
    gone = TestClient("127.0.0.1", serve.port(), "").Get("/healthz");
    return gone.status == 503;
  })) << gone.status << " " << gone.body;
  EXPECT_EQ(gone.body.rfind("unavailable: the store does not answer: ", 0), 0u) << gone.body;
  EXPECT_EQ(gone.body.find('\n'), gone.body.size() - 1) << "one line: " << gone.body;
}

class OpsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(nodes_.SetUp()); }
  OpsNodes nodes_;
};

TEST_F(OpsProcessTest, WatchFiguresReachTheNodesMetrics) {
  // Changes on the parent the child has not pulled yet.
  nodes_.Put(nodes_.parent_dir(), "from-parent-1", true);
  nodes_.Put(nodes_.parent_dir(), "from-parent-2", true);
  const std::string figures = nodes_.child_dir() + "/sync-watch.prom";
  ChildProcess watch;
  std::string error;
  ASSERT_TRUE(watch.Start({FHIRSYNC_BINARY, "sync", "--watch", "--dir", nodes_.child_dir()}, {},
                          &error))
      << error;
  Exposition written;
  EXPECT_TRUE(Eventually([&] {
    written = ParseExposition(ReadFile(figures));
    return written.Value("fhirsync_sync_moved_total", {"side=\"pull\""}).value_or(0) >= 2 &&
           written.Value("fhirsync_pull_lag_changes").has_value() &&
           written.Value("fhirsync_sync_last_success_timestamp_seconds", {"side=\"push\""})
                   .value_or(0) > 0;
  })) << ReadFile(figures) << watch.Stderr();
  EXPECT_TRUE(written.errors.empty());
  EXPECT_EQ(written.Value("fhirsync_pull_lag_changes"), 0) << "the pass reached the feed's end";
  EXPECT_EQ(written.Value("fhirsync_pull_lag_complete"), 1);
  EXPECT_EQ(written.Value("fhirsync_sync_failing_steps", {"side=\"pull\""}), 0);
  watch.Signal(SIGTERM);
  EXPECT_EQ(watch.Wait(std::chrono::seconds(30)).exit_code, 0);

  ASSERT_NO_FATAL_FAILURE(nodes_.ServeChild());
  Reply reply = nodes_.ChildAdmin().Get("/metrics");
  ASSERT_EQ(reply.status, 200) << reply.body;
  Exposition metrics = ParseExposition(reply.body);
  EXPECT_TRUE(metrics.errors.empty()) << metrics.errors.front();
  // The daemon's figures, through serve.
  EXPECT_GT(*metrics.Value("fhirsync_sync_last_success_timestamp_seconds", {"side=\"pull\""}), 0);
  EXPECT_EQ(metrics.Value("fhirsync_pull_lag_changes"), 0);
  // The store's own: the dead letter by class, the parent's last answer.
  EXPECT_EQ(metrics.Value("fhirsync_dead_letters", {"class=\"business-rule\""}), 1);
  EXPECT_EQ(metrics.Value("fhirsync_outbox_items", {"state=\"dead\"", "class=\"business-rule\""}),
            1);
  EXPECT_GT(*metrics.Value("fhirsync_parent_last_contact_timestamp_seconds", {"kind=\"any\""}),
            0);
}

TEST_F(OpsProcessTest, StatusPullNowAndPushNowOnAChild) {
  // An admin on the parent, to read the children it heard from at the end.
  ProcessResult parent_admin = Fhirsync(
      {"user", "add", "district-admin", "--role", "admin", "--dir", nodes_.parent_dir()},
      "district admin pass\n");
  ASSERT_EQ(parent_admin.exit_code, 0) << parent_admin.err;
  ASSERT_TRUE(nodes_.parent().Restart()) << nodes_.parent().error();
  ASSERT_NO_FATAL_FAILURE(nodes_.ServeChild());
  TestClient admin = nodes_.ChildAdmin();
  Reply status = admin.Get("/admin/status?timeout=5");
  ASSERT_EQ(status.status, 200) << status.body;
  rapidjson::Document doc = status.Json();
  EXPECT_TRUE(doc["is_child"].GetBool());
  EXPECT_FALSE(doc["in_sync"].GetBool());
  ASSERT_GT(doc["problems"].Size(), 0u);
  EXPECT_STREQ(doc["problems"][0]["code"].GetString(), "dead-letters");

  nodes_.Put(nodes_.parent_dir(), "made-on-parent", true);
  Reply pulled = admin.Post("/admin/sync/pull", "");
  ASSERT_EQ(pulled.status, 200) << pulled.body;
  EXPECT_EQ(std::string(pulled.Json()["message"].GetString()).rfind("pulled: ", 0), 0u);
  EXPECT_EQ(admin.Get("/fhir/Patient/made-on-parent").status, 200);

  nodes_.Put(nodes_.child_dir(), "made-on-child", true);
  Reply pushed = admin.Post("/admin/sync/push", "");
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  EXPECT_NE(std::string(pushed.Json()["message"].GetString()).find("sent 1"), std::string::npos)
      << pushed.body;
  EXPECT_EQ(nodes_.ParentReader().Get("/fhir/Patient/made-on-child").status, 200);

  // The parent lists the child among the children it heard from.
  TestClient district("127.0.0.1", nodes_.parent().port(),
                      BasicAuth("district-admin", "district admin pass"));
  Reply children = district.Get("/admin/children");
  ASSERT_EQ(children.status, 200) << children.body;
  rapidjson::Document seen = children.Json();
  // The child, by the node id it sends; the test's own reads as the same
  // user (ParentReader, no node id) are listed apart.
  const rapidjson::Value* tablet = nullptr;
  for (const auto& child : seen["children"].GetArray()) {
    if (std::string(child["node_id"].GetString()) == "tablet") tablet = &child;
  }
  ASSERT_NE(tablet, nullptr) << children.body;
  EXPECT_STREQ((*tablet)["name"].GetString(), kChildUser);
  EXPECT_EQ((*tablet)["behind"].GetInt64(), 0) << "it read the newest page";

  // The buttons work after the parent went away and came back.
  ASSERT_TRUE(nodes_.parent().Restart()) << nodes_.parent().error();
  Reply again = admin.Post("/admin/sync/pull", "");
  EXPECT_EQ(again.status, 200) << again.body;
}

}  // namespace
}  // namespace fhirsync::testing
