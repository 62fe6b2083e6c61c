// End to end: a real `fhirsync sync --push` child process pushing through
// the fault-injecting proxy (tests/support/fault_proxy.h) to a parent
// NodeServer over a real SQLite store, with the real fhir transport plugin.
// For each answer class: the item ends in the right state, nothing is lost,
// and the operator action that applies works.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "support/fault_proxy.h"
#include "support/sanitizers.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using testing::FaultKind;
using testing::FaultRule;
using testing::ProcessOptions;
using testing::ProcessResult;

ProcessResult Fhirsync(const std::vector<std::string>& args) {
  std::vector<std::string> argv{FHIRSYNC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = std::chrono::milliseconds(60000);
  return testing::RunProcess(argv, options);
}

rapidjson::Document Json(const ProcessResult& r) {
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  EXPECT_FALSE(doc.HasParseError()) << r.out << r.err;
  return doc;
}

// The plugin's per-receive timeout: short, so that a stalled parent costs
// the test little; long enough under ASan for the parent's first password
// check (600,000 rounds of PBKDF2, several seconds there on a loaded machine).
constexpr int kReceiveTimeoutMs = testing::kUnderAddressSanitizer ? 15000 : 1500;

FaultRule Rule(const std::string& method, FaultKind kind, int status = 0, long stall_ms = 0) {
  FaultRule rule;
  rule.method = method;
  rule.path_part = "/fhir/Patient/";
  rule.kind = kind;
  rule.status = status;
  rule.times = 1;
  rule.stall_ms = stall_ms;
  return rule;
}

class PushFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenLocalStore(StoreConfig{}, tmp_.Sub(""), "root");
    ASSERT_TRUE(store.ok()) << store.status();
    parent_store_ = std::move(store).value();
    NodeConfig config;
    config.node_id = "root";
    auto user = MakeUser("child", "pw", {"read", "write"});
    ASSERT_TRUE(user.ok());
    config.server.users = {*user};
    parent_ = std::make_unique<NodeServer>(config, *parent_store_);
    ASSERT_TRUE(parent_->Start().ok());
    proxy_ = std::make_unique<testing::FaultProxy>("127.0.0.1", parent_->port());

    child_ = tmp_.Sub("child");
    ProcessResult init = Fhirsync({"init", "--dir", child_, "--node-id", "tablet"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::ofstream(child_ + "/parent.password") << "pw\n";
    auto child = LoadNodeConfig(child_);
    ASSERT_TRUE(child.ok()) << child.status();
    child->parent.url = proxy_->base_url("");
    child->parent.node_id = "root";
    child->parent.user = "child";
    child->parent.password_file = "parent.password";
    child->push.max_attempts = 3;
    child->pull.enabled = false;
    PluginSpec fhir;
    fhir.name = "fhir";
    fhir.file = FHIRSYNC_FHIR_PLUGIN;
    fhir.options["capability_statement"] = "ignore";
    fhir.options["timeout_ms"] = std::to_string(kReceiveTimeoutMs);
    // These cases are about one request per change (the rules match PUTs);
    // batch Bundles have their own end-to-end test (push_batch_test.cc).
    fhir.options["write_many"] = "single";
    child->plugins.load = {fhir};
    ASSERT_TRUE(SaveNodeConfig(child_, *child).ok());
  }

  void Put(const std::string& id, const std::string& gender) {
    std::string body =
        R"({"resourceType":"Patient","id":")" + id + R"(","gender":")" + gender + "\"}";
    std::string file = tmp_.Sub(id + ".json");
    std::ofstream(file) << body;
    ProcessResult r = Fhirsync({"put", file, "--dir", child_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  rapidjson::Document Sync(int expected_exit = 0) {
    ProcessResult r = Fhirsync({"sync", "--push", "--once", "--json", "--dir", child_});
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return Json(r);
  }

  rapidjson::Document Outbox() { return Json(Fhirsync({"outbox", "--json", "--dir", child_})); }

  // The parent's copy: its gender, or "<none>".
  std::string ParentGender(const std::string& id) {
    auto resource = parent_store_->Get("Patient", id);
    if (!resource.ok() || resource->deleted) return "<none>";
    rapidjson::Document doc;
    doc.Parse(resource->body.c_str());
    return doc["gender"].GetString();
  }
  std::int64_t ParentVersion(const std::string& id) {
    auto resource = parent_store_->Get("Patient", id);
    return resource.ok() ? resource->version : 0;
  }

  std::string OnlyItemSeq() {
    rapidjson::Document items = Outbox();
    EXPECT_EQ(items["items"].Size(), 1u);
    return items["items"].Size() == 1 ? std::to_string(items["items"][0]["seq"].GetInt64())
                                      : "0";
  }

  testing::TempDir tmp_{"fhirsync-push-fault"};
  std::unique_ptr<LocalStore> parent_store_;
  std::unique_ptr<NodeServer> parent_;
  std::unique_ptr<testing::FaultProxy> proxy_;
  std::string child_;
};

TEST_F(PushFaultTest, TransientIsRetriedAndThenSent) {
  Put("p", "male");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 503));
  rapidjson::Document report = Sync();
  EXPECT_EQ(report["retrying"].GetInt(), 1);
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "pending");
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "transient");
  EXPECT_EQ(items["items"][0]["http_status"].GetInt(), 503);
  EXPECT_EQ(ParentGender("p"), "<none>");
  // The operator does not wait for the backoff.
  ASSERT_EQ(Fhirsync({"retry", OnlyItemSeq(), "--dir", child_}).exit_code, 0);
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "male");
}

TEST_F(PushFaultTest, BusinessRuleIsADeadLetterThatRetrySends) {
  Put("p", "male");
  Put("q", "female");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 422));
  rapidjson::Document report = Sync();
  EXPECT_EQ(report["dead_lettered"].GetInt(), 1);
  EXPECT_EQ(report["sent"].GetInt(), 1);  // the other resource still flows
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "dead");
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "business-rule");
  EXPECT_THAT(items["items"][0]["message"].GetString(), HasSubstr("injected HTTP 422"));
  ASSERT_EQ(Fhirsync({"retry", OnlyItemSeq(), "--dir", child_}).exit_code, 0);
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "male");
  EXPECT_EQ(ParentGender("q"), "female");
}

TEST_F(PushFaultTest, InvalidAndGoneAreDeadLettersThatDiscardSettles) {
  Put("p", "male");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 400));
  EXPECT_EQ(Sync()["dead_lettered"].GetInt(), 1);
  rapidjson::Document items = Outbox();
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "invalid");
  // The parent has no copy: discarding restores that (a local deletion),
  // the discarded body stays in the audit log.
  ProcessResult discard = Fhirsync({"discard", OnlyItemSeq(), "--dir", child_});
  ASSERT_EQ(discard.exit_code, 0) << discard.err;
  ProcessResult audit = Fhirsync({"audit", "--status", "discarded", "--dir", child_});
  EXPECT_THAT(audit.out, HasSubstr("\"gender\":\"male\""));
  EXPECT_EQ(Outbox()["items"].Size(), 0u);

  Put("g", "female");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 410));
  EXPECT_EQ(Sync()["dead_lettered"].GetInt(), 1);
  EXPECT_STREQ(Outbox()["items"][0]["class"].GetString(), "gone");
}

TEST_F(PushFaultTest, NotFoundUpdateBecomesACreate) {
  Put("p", "male");
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  Put("p", "female");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 404));
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "female");
}

TEST_F(PushFaultTest, AuthPausesUntilTheOperatorRetries) {
  Put("p", "male");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 401));
  rapidjson::Document report = Sync(1);
  EXPECT_TRUE(report["paused"].GetBool());
  rapidjson::Document items = Outbox();
  EXPECT_TRUE(items["paused"].GetBool());
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "pending");
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "auth");
  ASSERT_EQ(Fhirsync({"retry", "--all", "--dir", child_}).exit_code, 0);
  EXPECT_FALSE(Outbox()["paused"].GetBool());
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "male");
}

TEST_F(PushFaultTest, ConflictAnswerIsMergedFromTheServerCopy) {
  Put("p", "male");
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  Put("p", "female");
  proxy_->Add(Rule("PUT", FaultKind::kAnswer, 409));
  rapidjson::Document report = Sync();
  EXPECT_EQ(report["merged"].GetInt(), 1);
  EXPECT_EQ(report["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "female");
}

TEST_F(PushFaultTest, ConnectionCutMidRequestIsSentAgain) {
  Put("p", "male");
  proxy_->Add(Rule("PUT", FaultKind::kCutRequest));
  Sync();
  EXPECT_EQ(ParentGender("p"), "<none>");
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "pending");
  ASSERT_EQ(Fhirsync({"retry", OnlyItemSeq(), "--dir", child_}).exit_code, 0);
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "male");
}

TEST_F(PushFaultTest, ConnectionCutMidResponseIsReadBackNotResent) {
  Put("p", "male");
  proxy_->Add(Rule("PUT", FaultKind::kCutResponse));
  Sync();
  EXPECT_EQ(ParentGender("p"), "male");  // it landed
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "ambiguous");
  ASSERT_EQ(Fhirsync({"retry", OnlyItemSeq(), "--dir", child_}).exit_code, 0);
  // retry re-queues; the ambiguous mark makes the next push read back first.
  rapidjson::Document report = Sync();
  EXPECT_EQ(report["sent"].GetInt(), 1);
  EXPECT_EQ(ParentVersion("p"), 1);  // not written a second time
  int puts = 0;
  for (const auto& r : proxy_->requests()) {
    if (r.method != "PUT") continue;
    ++puts;
    EXPECT_EQ(r.if_none_match, "*");  // a create: it may only create
    EXPECT_EQ(r.if_match, "");
  }
  EXPECT_EQ(puts, 1);
  EXPECT_EQ(Outbox()["items"].Size(), 0u);  // nothing pending or dead
  EXPECT_EQ(Json(Fhirsync({"conflicts", "--json", "--dir", child_})).Size(), 0u);
}


// The parent already holds exactly our new resource (the child's store was
// restored from a backup taken before its push was recorded, or both sides
// imported the same file): the create is refused (412) and, finding our own
// content there, the child counts it delivered instead of a conflict.
TEST_F(PushFaultTest, ACreateTheParentAlreadyHoldsAsItIsIsDeliveredNotAConflict) {
  Put("p", "male");
  WriteOp same;
  same.type = "Patient";
  same.id = "p";
  same.body = R"({"resourceType":"Patient","id":"p","gender":"male"})";
  ASSERT_TRUE(parent_store_->Put(same).ok());
  rapidjson::Document report = Sync();
  EXPECT_EQ(report["sent"].GetInt(), 1);
  EXPECT_EQ(report["conflicts"].GetInt(), 0);
  EXPECT_EQ(ParentVersion("p"), 1);
  std::vector<int> statuses;
  for (const auto& r : proxy_->requests()) {
    if (r.method == "PUT") statuses.push_back(r.status);
  }
  EXPECT_EQ(statuses, std::vector<int>{412});
  EXPECT_EQ(Outbox()["items"].Size(), 0u);  // nothing pending or dead
  EXPECT_EQ(Json(Fhirsync({"conflicts", "--json", "--dir", child_})).Size(), 0u);
  // The next edit is an update over the parent's version 1.
  Put("p", "female");
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "female");
  const std::vector<testing::ProxiedRequest> seen = proxy_->requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().if_match, "W/\"1\"");
}

TEST_F(PushFaultTest, StalledParentIsRetried) {
  Put("p", "male");
  // Stalls past the receive timeout.
  proxy_->Add(Rule("PUT", FaultKind::kStall, 0, kReceiveTimeoutMs + 2500));
  Sync();
  rapidjson::Document items = Outbox();
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "pending");
  ASSERT_EQ(Fhirsync({"retry", OnlyItemSeq(), "--dir", child_}).exit_code, 0);
  EXPECT_EQ(Sync()["sent"].GetInt(), 1);
  EXPECT_EQ(ParentGender("p"), "male");
}

}  // namespace
}  // namespace fhirsync
