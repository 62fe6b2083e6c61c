// GET /healthz, GET /metrics and the admin operations endpoints, in-process:
// a NodeServer over a real SQLite store in a temporary folder, real HTTP on
// 127.0.0.1 (port 0). /healthz answering 503 for a store that went away is
// tested on PostgreSQL in ops_process_test.cc.

#include <gtest/gtest.h>

#include <memory>
#include <map>
#include <string>

#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "interaction_tests.h"
#include "server/route_policy.h"
#include "support/prometheus_text.h"
#include "support/temp_dir.h"
#include "test_client.h"

namespace fhirsync::testing {
namespace {

class OpsEndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeConfig config;
    config.node_id = "ops-node";
    config.server.bind = "127.0.0.1";
    config.server.port = 0;
    config.server.feed_page_size = kFeedPageSize;
    config.server.users = {*MakeUser(kReader, PasswordOf(kReader), {"read"}),
                           *MakeUser(kWriter, PasswordOf(kWriter), {"read", "write"}),
                           *MakeUser(kAdmin, PasswordOf(kAdmin), {"admin"})};
    auto store = OpenLocalStore(config.store, tmp_.path(), config.node_id);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    NodeServer::Options options;
    options.extra_metrics = [] { return std::string("# TYPE host_extra gauge\nhost_extra 7\n"); };
    server_ = std::make_unique<NodeServer>(config, *store_, options);
    ASSERT_TRUE(server_->Start().ok());
  }

  TestClient As(const std::string& user) {
    return TestClient("127.0.0.1", server_->port(), BasicAuth(user, PasswordOf(user)));
  }
  TestClient Anonymous() { return TestClient("127.0.0.1", server_->port(), ""); }

  Exposition Scrape() {
    Reply reply = As(kReader).Get("/metrics");
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.Header("content-type").rfind("text/plain; version=0.0.4", 0), 0u)
        << reply.Header("content-type");
    Exposition exposition = ParseExposition(reply.body);
    EXPECT_TRUE(exposition.errors.empty()) << exposition.errors.front();
    return exposition;
  }

  TempDir tmp_{"fhirsync-ops"};
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
};

TEST_F(OpsEndpointsTest, HealthzAnswersWithoutCredentials) {
  Reply reply = Anonymous().Get("/healthz");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body.rfind("ok: node ops-node", 0), 0u) << reply.body;
  EXPECT_EQ(reply.body.find('\n'), reply.body.size() - 1) << "one line";
  EXPECT_EQ(Anonymous().Call("HEAD", "/healthz").status, 200);
}

TEST_F(OpsEndpointsTest, TheHealthzExceptionIsNarrow) {
  // Only GET/HEAD of exactly /healthz goes without credentials.
  EXPECT_EQ(Anonymous().Post("/healthz", "").status, 401);
  EXPECT_EQ(Anonymous().Get("/healthz/x").status, 401);
  EXPECT_EQ(Anonymous().Get("/fhir/healthz").status, 401);
  EXPECT_EQ(Anonymous().Get("/metrics").status, 401);
  EXPECT_EQ(Anonymous().Get("/admin/ui/").status, 401);
  // The decision is on the decoded path: these are /healthz as routed.
  EXPECT_EQ(Anonymous().Get("/%68ealthz").status, 200);
  EXPECT_EQ(Anonymous().Get("//healthz?probe=1").status, 200);
  EXPECT_EQ(As(kWriter).Post("/healthz", "").status, 405);
}

TEST_F(OpsEndpointsTest, AdminNeedsTheAdminRoleHoweverThePathIsSpelt) {
  // The role is decided on the decoded segments, not the raw target.
  EXPECT_EQ(As(kReader).Get("/admin/outbox").status, 403);
  EXPECT_EQ(As(kReader).Get("/%61dmin/outbox").status, 403);
  EXPECT_EQ(As(kReader).Get("//admin/outbox").status, 403);
  EXPECT_EQ(As(kWriter).Post("/%61dmin/outbox/_retry-all", "").status, 403);
  EXPECT_EQ(As(kAdmin).Get("/%61dmin/outbox").status, 200);
}

TEST_F(OpsEndpointsTest, MetricsNeedTheReadRoleAndCountRequestsByRoute) {
  Exposition before = Scrape();
  const std::vector<std::string> read_404 = {"route=\"/fhir/{type}/{id}\"", "method=\"GET\"",
                                             "status=\"404\""};
  const double reads = before.Value("fhirsync_http_requests_total", read_404).value_or(0);
  TestClient reader = As(kReader);
  EXPECT_EQ(reader.Get("/fhir/Patient/nobody-1").status, 404);
  EXPECT_EQ(reader.Get("/fhir/Patient/nobody-2").status, 404);
  EXPECT_EQ(Anonymous().Get("/fhir/Patient/x").status, 401);
  Exposition after = Scrape();
  EXPECT_EQ(after.types["fhirsync_http_requests_total"], "counter");
  EXPECT_EQ(after.types["fhirsync_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(after.Value("fhirsync_http_requests_total", read_404), reads + 2);
  // The id never becomes a label.
  for (const auto& [series, value] : after.samples) {
    EXPECT_EQ(series.find("nobody"), std::string::npos) << series;
  }
  EXPECT_EQ(after.Value("fhirsync_http_requests_total",
                        {"route=\"/fhir/{type}/{id}\"", "status=\"401\""}),
            1);
  EXPECT_GE(*after.Value("fhirsync_http_request_duration_seconds_count",
                         {"route=\"/fhir/{type}/{id}\""}),
            3);
  EXPECT_GE(*after.Value("fhirsync_http_requests_total",
                         {"route=\"/metrics\"", "status=\"200\""}),
            1);
  // An unknown path is counted as "other", whatever it was.
  EXPECT_EQ(reader.Get("/no/such/place").status, 404);
  EXPECT_GE(*Scrape().Value("fhirsync_http_requests_total", {"route=\"other\""}), 1);
  // A reader may scrape; nobody without credentials.
  EXPECT_EQ(Anonymous().Get("/metrics").status, 401);
  EXPECT_EQ(As(kWriter).Get("/metrics").status, 200);
}

TEST_F(OpsEndpointsTest, MetricsShowTheStoreFigures) {
  Exposition empty = Scrape();
  EXPECT_EQ(empty.Value("fhirsync_store_up"), 1);
  EXPECT_EQ(empty.Value("fhirsync_outbox_items", {"state=\"pending\""}), 0);
  EXPECT_EQ(empty.Value("fhirsync_conflicts_open"), 0);
  EXPECT_GT(*empty.Value("fhirsync_store_size_bytes"), 0);
  EXPECT_EQ(empty.Value("host_extra"), 7) << "the host's extra text is appended";

  // A local write queues an outbox item: the depth moves.
  WriteOp op;
  op.type = "Patient";
  op.id = "p1";
  op.body = PatientJson("p1", "Okello");
  ASSERT_TRUE(store_->Put(op).ok());
  Exposition one = Scrape();
  EXPECT_EQ(one.Value("fhirsync_outbox_items", {"state=\"pending\"", "class=\"\""}), 1);
  EXPECT_EQ(one.Value("fhirsync_store_last_seq"), 1);
  EXPECT_FALSE(one.Value("fhirsync_parent_last_contact_timestamp_seconds").has_value())
      << "a node without a parent has no parent contact";
}

TEST_F(OpsEndpointsTest, ChildrenAreListedByUserWithTheirFeedPosition) {
  TestClient admin = As(kAdmin);
  Reply none = admin.Get("/admin/children");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.Json()["children"].Size(), 0u);
  for (int i = 0; i < kFeedPageSize * 2 + 1; ++i) {
    WriteOp op;
    op.type = "Patient";
    op.id = "p" + std::to_string(i);
    op.body = PatientJson(op.id, "Family");
    ASSERT_TRUE(store_->Put(op).ok());
  }
  EXPECT_EQ(As(kReader).Get("/feed/1").status, 200);
  EXPECT_EQ(As(kWriter).Get("/feed/recent").status, 200);
  Reply seen = admin.Get("/admin/children");
  ASSERT_EQ(seen.status, 200) << seen.body;
  rapidjson::Document doc = seen.Json();
  ASSERT_EQ(doc["children"].Size(), 2u) << seen.body;
  const auto& newest = doc["children"][0];  // most recent first
  EXPECT_STREQ(newest["name"].GetString(), kWriter);
  EXPECT_TRUE(newest["at_head"].GetBool());
  EXPECT_EQ(newest["behind"].GetInt64(), 0);
  const auto& reader = doc["children"][1];
  EXPECT_STREQ(reader["name"].GetString(), kReader);
  EXPECT_EQ(reader["feed_position"].GetInt64(), kFeedPageSize);
  EXPECT_EQ(reader["behind"].GetInt64(), kFeedPageSize + 1);
  EXPECT_EQ(admin.Get("/admin/children?minutes=soon").status, 400);
}

// Children that share one user (a district's tablets all signing in as
// `tablet`) are told apart by the node id each sends; a header that is not
// a node id counts under the user.
TEST_F(OpsEndpointsTest, ChildrenSharingAUserAreListedByTheNodeIdTheySend) {
  for (const char* node : {"tablet-1", "tablet-2", "tablet-1", "not a node id!"}) {
    EXPECT_EQ(As(kReader)
                  .Call("GET", "/feed/recent", "", WithHeader("X-Fhirsync-Node-Id", node))
                  .status,
              200);
  }
  Reply seen = As(kAdmin).Get("/admin/children");
  ASSERT_EQ(seen.status, 200) << seen.body;
  rapidjson::Document doc = seen.Json();
  ASSERT_EQ(doc["children"].Size(), 3u) << seen.body;
  std::map<std::string, std::int64_t> requests;
  for (const auto& child : doc["children"].GetArray()) {
    EXPECT_STREQ(child["name"].GetString(), kReader);
    requests[child["node_id"].GetString()] = child["requests"].GetInt64();
  }
  EXPECT_EQ(requests["tablet-1"], 2);
  EXPECT_EQ(requests["tablet-2"], 1);
  EXPECT_EQ(requests[""], 1);
}

TEST_F(OpsEndpointsTest, StatusAndPageAndSyncNow) {
  TestClient admin = As(kAdmin);
  Reply status = admin.Get("/admin/status");
  ASSERT_EQ(status.status, 200) << status.body;
  rapidjson::Document doc = status.Json();
  EXPECT_STREQ(doc["node_id"].GetString(), "ops-node");
  EXPECT_FALSE(doc["is_child"].GetBool());
  EXPECT_GT(doc["lines"].Size(), 0u);
  EXPECT_EQ(admin.Get("/admin/status?timeout=99").status, 400);

  Reply page = admin.Get("/admin/ui/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("content-type").rfind("text/html", 0), 0u);
  EXPECT_NE(page.body.find("/admin/ui/admin.js"), std::string::npos);
  EXPECT_NE(page.Header("content-security-policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(admin.Get("/admin/ui").body, page.body);
  Reply script = admin.Get("/admin/ui/admin.js");
  EXPECT_EQ(script.Header("content-type").rfind("text/javascript", 0), 0u);
  EXPECT_EQ(admin.Get("/admin/ui/missing.js").status, 404);
  EXPECT_EQ(admin.Get("/admin/ui/a/b").status, 404);
  EXPECT_EQ(As(kWriter).Get("/admin/ui/").status, 403);

  // Without a host's sync_now the buttons' endpoints say so.
  EXPECT_EQ(admin.Post("/admin/sync/pull", "").status, 501);
  EXPECT_EQ(admin.Post("/admin/sync/sideways", "").status, 404);
  EXPECT_EQ(admin.Get("/admin/sync/pull").status, 405);
}

TEST_F(OpsEndpointsTest, AdminActionsFromAnotherSiteAreRefused) {
  TestClient admin = As(kAdmin);
  const std::string self = "http://127.0.0.1:" + std::to_string(server_->port());
  Reply forged = admin.Call("POST", "/admin/outbox/_retry-all", "",
                            WithHeader("Origin", "http://evil.example"));
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_NE(forged.Diagnostics().find("another site"), std::string::npos) << forged.body;
  EXPECT_EQ(admin.Call("POST", "/admin/outbox/_retry-all", "",
                       WithHeader("Sec-Fetch-Site", "cross-site")).status,
            403);
  // The page itself (same origin) and tools without an Origin may act.
  EXPECT_EQ(admin.Call("POST", "/admin/outbox/_retry-all", "", WithHeader("Origin", self)).status,
            200);
  EXPECT_EQ(admin.Post("/admin/outbox/_retry-all", "").status, 200);
  // Reading is not an action.
  EXPECT_EQ(admin.Call("GET", "/admin/outbox", "", WithHeader("Origin", "http://evil.example"))
                .status,
            200);
}

TEST(RoutePolicyTest, RouteLabelsAreFixedPatterns) {
  auto label = [](std::vector<std::string> segments, const char* method = "GET") {
    server::HttpRequest request;
    request.method = method;
    request.segments = std::move(segments);
    return server::RouteLabel(request);
  };
  EXPECT_EQ(label({"fhir", "Patient", "p1"}), "/fhir/{type}/{id}");
  EXPECT_EQ(label({"fhir", "Patient", "p1", "_history", "2"}), "/fhir/{type}/{id}/_history/{vid}");
  EXPECT_EQ(label({"fhir"}, "POST"), "/fhir");
  EXPECT_EQ(label({"fhir", "metadata"}), "/fhir/metadata");
  EXPECT_EQ(label({"feed", "17"}), "/feed/{page}");
  EXPECT_EQ(label({"feed", "recent"}), "/feed/recent");
  EXPECT_EQ(label({"admin", "outbox", "12", "retry"}), "/admin/outbox/{seq}/retry");
  EXPECT_EQ(label({"admin", "outbox", "12", "anything"}), "other");
  EXPECT_EQ(label({"admin", "whatever-a-user-typed"}), "other");
  EXPECT_EQ(label({"admin", "ui", "admin.js"}), "/admin/ui/{file}");
  EXPECT_EQ(label({"healthz"}), "/healthz");
  EXPECT_EQ(label({"ws", "rest", "v1", "patient", "u1"}), "/ws/rest/v1/{resource}");
  EXPECT_EQ(label({}), "other");
  const std::string job = "0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b";
  EXPECT_EQ(label({"fhir", "$export"}), "/fhir/$export");
  EXPECT_EQ(label({"fhir", "$export-status", job}), "/fhir/$export-status/{job}");
  EXPECT_EQ(label({"fhir", "$export-status", job}, "DELETE"), "/fhir/$export-status/{job}");
  EXPECT_EQ(label({"fhir", "$export-file", job, "3"}), "/fhir/$export-file/{job}/{n}");
  EXPECT_EQ(label({"fhir", "$export-file", job}), "other");
  // Cancelling one's own export needs only the read role; other DELETEs write.
  server::HttpRequest cancel;
  cancel.method = "DELETE";
  cancel.segments = {"fhir", "$export-status", job};
  EXPECT_EQ(server::RoleNeeded(cancel), server::Role::kRead);
  cancel.segments = {"fhir", "Patient", "p1"};
  EXPECT_EQ(server::RoleNeeded(cancel), server::Role::kWrite);
  server::HttpRequest healthz;
  healthz.method = "GET";
  healthz.segments = {"healthz"};
  EXPECT_FALSE(server::RoleNeeded(healthz).has_value());
  healthz.method = "POST";
  EXPECT_EQ(server::RoleNeeded(healthz), server::Role::kWrite);
}

}  // namespace
}  // namespace fhirsync::testing
