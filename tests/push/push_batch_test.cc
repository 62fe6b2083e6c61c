// End to end, wire batching: a real `fhirsync sync --push` child process with
// the real fhir plugin pushes to a real `fhirsync serve` parent process
// through the fault-injecting proxy (tests/support/fault_proxy.h), which
// counts the requests. The parent's CapabilityStatement lists `batch`, so
// each round of push.batch_size changes is one batch Bundle, and each entry
// is judged on its own: a stale If-Match and a 422 in the middle of a Bundle
// do not hold back the others. A connection cut mid-request or mid-response
// of a Bundle loses nothing and writes nothing twice.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/local_store.h"
#include "cli/cli_harness.h"
#include "support/fault_proxy.h"
#include "support/sanitizers.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using testing::FaultKind;
using testing::FaultRule;
using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::ProxiedRequest;

constexpr char kUser[] = "child";
constexpr char kPassword[] = "child-secret";

using cli_test::Fhirsync;

// The JSON a command printed; an empty object (and a failure) if it is none.
rapidjson::Document Json(const ProcessResult& r) {
  rapidjson::Document doc;
  EXPECT_TRUE(cli_test::ParseJson(r.out, &doc)) << r.err;
  if (!doc.IsObject()) doc.SetObject();
  return doc;
}

std::string PatientBody(const std::string& id, const std::string& field, const std::string& value) {
  return R"({"resourceType":"Patient","id":")" + id + R"(",")" + field + R"(":")" + value + "\"}";
}

class PushBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_dir_ = tmp_.Sub("parent");
    ProcessResult init = Fhirsync({"init", "--dir", parent_dir_, "--node-id", "root"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(parent_dir_);
    ASSERT_TRUE(config.ok()) << config.status();
    auto user = MakeUser(kUser, kPassword, {"read", "write"});
    ASSERT_TRUE(user.ok()) << user.status();
    config->server.users.push_back(*user);
    ASSERT_TRUE(SaveNodeConfig(parent_dir_, *config).ok());
    parent_ = std::make_unique<testing::ServeProcess>(FHIRSYNC_BINARY, parent_dir_);
    ASSERT_TRUE(parent_->Start()) << parent_->error();
    parent_port_ = parent_->port();
    proxy_ = std::make_unique<testing::FaultProxy>("127.0.0.1", parent_port_);

    child_dir_ = tmp_.Sub("child");
    ProcessResult child_init = Fhirsync({"init", "--dir", child_dir_, "--node-id", "tablet"});
    ASSERT_EQ(child_init.exit_code, 0) << child_init.err;
    std::ofstream(child_dir_ + "/parent.password") << kPassword << "\n";
    auto child = LoadNodeConfig(child_dir_);
    ASSERT_TRUE(child.ok()) << child.status();
    child->parent.url = proxy_->base_url("");
    child->parent.node_id = "root";
    child->parent.user = kUser;
    child->parent.password_file = "parent.password";
    child->pull.enabled = false;
    PluginSpec fhir;
    fhir.name = "fhir";
    fhir.file = FHIRSYNC_FHIR_PLUGIN;  // write_many "auto": batch, as metadata says
    // Under ASan the parent's first password check (PBKDF2) can take longer
    // than 5 s on a loaded machine; the CapabilityStatement read would time
    // out and the plugin fall back to one request per change.
    fhir.options["timeout_ms"] = testing::kUnderAddressSanitizer ? "20000" : "5000";
    child->plugins.load = {fhir};
    // Rounds of 100, so that the 250 changes below span three Bundles.
    child->push.batch_size = 100;
    ASSERT_TRUE(SaveNodeConfig(child_dir_, *child).ok());
    child_config_ = *child;
  }

  void TearDown() override {
    proxy_.reset();
    parent_.reset();
  }

  // Local writes on the child (each a change with an outbox item).
  void ChildWrite(const std::vector<std::pair<std::string, std::string>>& id_and_body) {
    auto store = OpenLocalStore(child_config_.store, child_dir_, "tablet");
    ASSERT_TRUE(store.ok()) << store.status();
    for (const auto& [id, body] : id_and_body) {
      WriteOp op;
      op.type = "Patient";
      op.id = id;
      op.body = body;
      auto written = (*store)->Write(std::vector<WriteOp>{op}, WriteOptions{});
      ASSERT_TRUE(written.ok()) << written.status();
    }
  }

  void ChildWriteNew(int from, int to) {
    std::vector<std::pair<std::string, std::string>> writes;
    for (int i = from; i < to; ++i) {
      const std::string id = "p-" + std::to_string(i);
      writes.emplace_back(id, PatientBody(id, "gender", "female"));
    }
    ChildWrite(writes);
  }

  rapidjson::Document Sync() {
    ProcessResult r = Fhirsync({"sync", "--push", "--once", "--json", "--dir", child_dir_});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return Json(r);
  }

  rapidjson::Document Outbox() { return Json(Fhirsync({"outbox", "--json", "--dir", child_dir_})); }

  // The operator re-queues every waiting item now, not after its backoff.
  void RetryEach() {
    rapidjson::Document items = Outbox();
    for (const auto& item : items["items"].GetArray()) {
      ProcessResult r =
          Fhirsync({"retry", std::to_string(item["seq"].GetInt64()), "--dir", child_dir_});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  fhir::FhirClient Parent() {
    fhir::FhirClientOptions options;
    options.base_url = "http://127.0.0.1:" + std::to_string(parent_port_) + "/fhir";
    options.username = kUser;
    options.password = kPassword;
    return fhir::FhirClient(options);
  }

  // How many requests of `method` to a URI containing `part` the proxy saw
  // from index `from` on.
  int Count(const std::string& method, const std::string& uri, std::size_t from = 0) {
    std::vector<ProxiedRequest> seen = proxy_->requests();
    int n = 0;
    for (std::size_t i = from; i < seen.size(); ++i) {
      n += seen[i].method == method && seen[i].uri == uri ? 1 : 0;
    }
    return n;
  }

  // The connection of the next batch Bundle is cut: kCutRequest before it
  // reaches the parent, kCutResponse after the parent answered.
  void CutNextBundle(FaultKind kind) {
    FaultRule cut;
    cut.method = "POST";
    cut.path_part = "/fhir";
    cut.kind = kind;
    proxy_->Add(cut);
  }

  // p-0 .. p-(n-1) are on the parent, each written exactly once.
  void ExpectOnParentOnce(int n) {
    fhir::FhirClient parent = Parent();
    for (int i = 0; i < n; ++i) {
      fhir::FhirResult got = parent.Read("Patient", "p-" + std::to_string(i));
      ASSERT_TRUE(got.ok()) << got.status;
      EXPECT_EQ(got.version_id, "1") << "p-" << i;
    }
  }

  testing::TempDir tmp_{"fhirsync-push-batch"};
  std::string parent_dir_;
  std::string child_dir_;
  NodeConfig child_config_;
  std::unique_ptr<testing::ServeProcess> parent_;
  int parent_port_ = 0;
  std::unique_ptr<testing::FaultProxy> proxy_;
};

TEST_F(PushBatchTest, TwoHundredFiftyChangesGoInThreeBundlesJudgedPerEntry) {
  // "s" is agreed with the parent at version 1, then edited on both sides.
  ChildWrite({{"s", PatientBody("s", "gender", "male")}});
  ASSERT_EQ(Sync()["sent"].GetInt(), 1);
  fhir::FhirClient parent = Parent();
  fhir::FhirResult moved = parent.Update(
      "Patient", "s",
      R"({"resourceType":"Patient","id":"s","gender":"male","birthDate":"1990-01-01"})", "1");
  ASSERT_TRUE(moved.ok()) << moved.status;
  ASSERT_EQ(moved.version_id, "2");
  const std::size_t before = proxy_->requests().size();

  // 250 changes: 120 new, the stale edit of "s" (121st), 129 new; the parent
  // refuses p-130 (the 132nd) by a business rule.
  ChildWriteNew(0, 120);
  ChildWrite({{"s", PatientBody("s", "gender", "other")}});
  ChildWriteNew(120, 249);
  FaultRule business;
  business.method = "POST";
  business.kind = FaultKind::kAnswerEntry;
  business.status = 422;
  business.path_part = "Patient/p-130";
  proxy_->Add(business);

  rapidjson::Document report = Sync();
  EXPECT_EQ(report["sent"].GetInt(), 249) << report["sent"].GetInt();
  EXPECT_EQ(report["merged"].GetInt(), 1);
  EXPECT_EQ(report["dead_lettered"].GetInt(), 1);
  EXPECT_EQ(report["retrying"].GetInt(), 0);

  // ceil(250 / 100) Bundles; besides them only the merge's read of the
  // parent's "s" (the merged version travels in the third Bundle).
  EXPECT_EQ(Count("POST", "/fhir", before), 3);
  EXPECT_EQ(Count("GET", "/fhir/Patient/s", before), 1);
  EXPECT_EQ(Count("PUT", "/fhir/Patient/s", before), 0);
  std::vector<ProxiedRequest> seen = proxy_->requests();
  for (std::size_t i = before; i < seen.size(); ++i) {
    const ProxiedRequest& r = seen[i];
    const bool expected = (r.method == "POST" && r.uri == "/fhir") || r.uri == "/fhir/metadata" ||
                          r.uri == "/fhir/Patient/s";
    EXPECT_TRUE(expected) << r.method << " " << r.uri;
  }

  // The 422 is a dead letter with its OperationOutcome text; nothing else waits.
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["id"].GetString(), "p-130");
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "dead");
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "business-rule");
  EXPECT_EQ(items["items"][0]["http_status"].GetInt(), 422);
  EXPECT_THAT(items["items"][0]["message"].GetString(), HasSubstr("injected HTTP 422"));

  // The parent holds every other change exactly once, and both edits of "s".
  for (int i = 0; i < 249; ++i) {
    const std::string id = "p-" + std::to_string(i);
    fhir::FhirResult got = parent.Read("Patient", id);
    if (i == 130) {
      EXPECT_EQ(got.status.code(), StatusCode::kNotFound) << id;
      continue;
    }
    ASSERT_TRUE(got.ok()) << got.status;
    EXPECT_EQ(got.version_id, "1") << id;
  }
  fhir::FhirResult s = parent.Read("Patient", "s");
  ASSERT_TRUE(s.ok()) << s.status;
  EXPECT_EQ(s.version_id, "3");
  EXPECT_THAT(s.body, HasSubstr(R"("gender":"other")"));
  EXPECT_THAT(s.body, HasSubstr(R"("birthDate":"1990-01-01")"));

  // The operator re-sends the dead letter once the rule is gone.
  ASSERT_EQ(Fhirsync({"retry", "--all", "--dir", child_dir_}).exit_code, 0);
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_TRUE(parent.Read("Patient", "p-130").ok());
  EXPECT_EQ(Outbox()["items"].Size(), 0u);
}

TEST_F(PushBatchTest, ABundleWhoseAnswerIsCutIsReadBackNotSentTwice) {
  ChildWriteNew(0, 12);
  CutNextBundle(FaultKind::kCutResponse);
  rapidjson::Document first = Sync();
  EXPECT_EQ(first["sent"].GetInt(), 0);
  EXPECT_EQ(first["retrying"].GetInt(), 12);
  fhir::FhirClient parent = Parent();
  EXPECT_TRUE(parent.Read("Patient", "p-0").ok());  // the parent applied the Bundle
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 12u);
  for (const auto& item : items["items"].GetArray()) {
    EXPECT_STREQ(item["state"].GetString(), "pending");
    EXPECT_STREQ(item["class"].GetString(), "ambiguous");
    EXPECT_THAT(item["message"].GetString(), HasSubstr("ambiguous"));
  }

  // Re-queued now (not after the backoff): each is read back, found, and
  // recorded as sent without being written again.
  RetryEach();
  const std::size_t before = proxy_->requests().size();
  EXPECT_EQ(Sync()["sent"].GetInt(), 12);
  EXPECT_EQ(Count("POST", "/fhir", before), 0);
  EXPECT_EQ(Outbox()["items"].Size(), 0u);
  ExpectOnParentOnce(12);
}

TEST_F(PushBatchTest, ABundleCutBeforeItReachedTheParentIsSentAgainWhole) {
  ChildWriteNew(0, 12);
  CutNextBundle(FaultKind::kCutRequest);
  rapidjson::Document first = Sync();
  EXPECT_EQ(first["retrying"].GetInt(), 12);
  EXPECT_EQ(Parent().Read("Patient", "p-0").status.code(), StatusCode::kNotFound);
  RetryEach();
  const std::size_t before = proxy_->requests().size();
  EXPECT_EQ(Sync()["sent"].GetInt(), 12);
  EXPECT_EQ(Count("POST", "/fhir", before), 1);
  ExpectOnParentOnce(12);
}

}  // namespace
}  // namespace fhirsync
