// `fhirsync status --json` against nodes put into each state on purpose:
// a real `fhirsync serve` parent on 127.0.0.1 (port 0), child nodes made
// and driven through the real program, and the fault-injecting proxy where
// the parent must refuse a change. Asserts the report's fields and the exit
// status, not its wording.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "support/fault_proxy.h"
#include "support/sanitizers.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using testing::FaultKind;
using testing::FaultRule;
using testing::ProcessOptions;
using testing::ProcessResult;

constexpr char kParentId[] = "district";
constexpr char kUser[] = "tablet-user";
constexpr char kPassword[] = "correct horse";

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  std::vector<std::string> argv{FHIRSYNC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::seconds(60);
  return testing::RunProcess(argv, options);
}

std::string Patient(const std::string& id, const std::string& gender) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","gender":")" + gender + "\"}";
}

// The codes of the report's problems, in order.
std::vector<std::string> Codes(const rapidjson::Document& doc) {
  std::vector<std::string> codes;
  for (const auto& p : doc["problems"].GetArray()) codes.push_back(p["code"].GetString());
  return codes;
}

class StatusProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_dir_ = tmp_.Sub("parent");
    ProcessResult init = Fhirsync({"init", "--dir", parent_dir_, "--node-id", kParentId});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ProcessResult user = Fhirsync(
        {"user", "add", kUser, "--role", "read,write", "--dir", parent_dir_},
        std::string(kPassword) + "\n");
    ASSERT_EQ(user.exit_code, 0) << user.err;
    parent_ = std::make_unique<testing::ServeProcess>(FHIRSYNC_BINARY, parent_dir_);
    ASSERT_TRUE(parent_->Start()) << parent_->error();
  }

  // A child of `url` (default: the parent itself) made by `init --parent`.
  std::string MakeChild(const std::string& name, const std::string& url = "",
                        const std::string& password = kPassword) {
    const std::string dir = tmp_.Sub(name);
    ProcessResult init =
        Fhirsync({"init", "--dir", dir, "--node-id", name, "--parent",
                  url.empty() ? parent_->url() : url, "--parent-user", kUser},
                 password + "\n");
    EXPECT_EQ(init.exit_code, 0) << init.err;
    return dir;
  }

  void Put(const std::string& dir, const std::string& id, const std::string& gender) {
    ProcessResult r = Fhirsync({"put", "-", "--dir", dir}, Patient(id, gender));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  ProcessResult Sync(const std::string& dir, const std::string& direction) {
    return Fhirsync({"sync", "--dir", dir, direction, "--once", "--json"});
  }

  // `status --json`; checks the exit status agrees with in_sync.
  rapidjson::Document Status(const std::string& dir, int expected_exit,
                             const std::vector<std::string>& extra = {}) {
    // Under ASan the parent's first password check (PBKDF2) alone can take
    // several seconds on a loaded machine.
    std::vector<std::string> args{"status", "--json", "--dir", dir, "--timeout",
                                  testing::kUnderAddressSanitizer ? "15" : "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Fhirsync(args);
    EXPECT_FALSE(r.timed_out) << "status hung";
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    rapidjson::Document doc;
    doc.Parse(r.out.c_str());
    EXPECT_FALSE(doc.HasParseError()) << r.out << r.err;
    if (doc.HasParseError() || !doc.IsObject()) doc.Parse("{\"problems\":[]}");
    if (doc.HasMember("in_sync")) {
      EXPECT_EQ(doc["in_sync"].GetBool(), expected_exit == 0) << r.out;
    }
    return doc;
  }

  testing::TempDir tmp_{"fhirsync-status"};
  std::string parent_dir_;
  std::unique_ptr<testing::ServeProcess> parent_;
};

TEST_F(StatusProcessTest, HelpAndUsageErrors) {
  ProcessResult help = Fhirsync({"status", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_EQ(help.out.rfind("usage: fhirsync status", 0), 0u) << help.out;
  EXPECT_THAT(help.out, HasSubstr("Exit status: 0"));
  ProcessResult bad = Fhirsync({"status", "--timeout", "soon", "--dir", parent_dir_});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--timeout"));
  ProcessResult extra = Fhirsync({"status", "Patient/p", "--dir", parent_dir_});
  EXPECT_EQ(extra.exit_code, 2);
  ProcessResult missing = Fhirsync({"status", "--dir", tmp_.Sub("nowhere")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("fhirsync init"));
}

TEST_F(StatusProcessTest, NodeWithoutParentIsInStep) {
  Put(parent_dir_, "root-1", "female");  // an outbox row that goes nowhere
  rapidjson::Document doc = Status(parent_dir_, 0);
  EXPECT_STREQ(doc["node_id"].GetString(), kParentId);
  EXPECT_TRUE(doc["parent"].IsNull());
  EXPECT_TRUE(doc["lag"].IsNull());
  EXPECT_EQ(doc["pending"]["count"].GetInt64(), 0);
  EXPECT_EQ(doc["problems"].Size(), 0u);
  ProcessResult text = Fhirsync({"status", "--dir", parent_dir_});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr("no parent"));
}

TEST_F(StatusProcessTest, LagCountsTheParentsChangesUntilPulled) {
  Put(parent_dir_, "a", "female");
  Put(parent_dir_, "b", "male");
  const std::string child = MakeChild("tablet");

  // Never pulled: both changes are waiting, and the parent was reached now
  // (by status) but never by a pull or push.
  rapidjson::Document before = Status(child, 1);
  EXPECT_TRUE(before["parent"]["reachable"].GetBool()) << before["parent"]["unreachable_reason"].GetString();
  EXPECT_TRUE(before["last_contact"].IsNull());
  EXPECT_TRUE(before["last_pull"].IsNull());
  ASSERT_TRUE(before["lag"].IsObject());
  EXPECT_EQ(before["lag"]["changes"].GetInt64(), 2);
  EXPECT_FALSE(before["lag"]["at_least"].GetBool());
  EXPECT_TRUE(before["lag"]["behind_ms"].IsInt64());
  EXPECT_GE(before["lag"]["behind_ms"].GetInt64(), 0);
  EXPECT_EQ(Codes(before), std::vector<std::string>{"pull-lag"});
  EXPECT_THAT(std::string(before["problems"][0]["command"].GetString()),
              HasSubstr("fhirsync sync --dir " + child + " --pull"));

  // Right after a pull: in step, with the contact and the pull recorded.
  ProcessResult pull = Sync(child, "--pull");
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  rapidjson::Document after = Status(child, 0);
  EXPECT_EQ(after["lag"]["changes"].GetInt64(), 0);
  EXPECT_TRUE(after["last_contact"].IsString());
  EXPECT_TRUE(after["last_pull"].IsString());
  EXPECT_STREQ(after["parent"]["node_id"].GetString(), kParentId);
  EXPECT_EQ(after["problems"].Size(), 0u);

  // A new change on the parent: one behind again.
  Put(parent_dir_, "c", "other");
  rapidjson::Document behind = Status(child, 1);
  EXPECT_EQ(behind["lag"]["changes"].GetInt64(), 1);
  EXPECT_EQ(Codes(behind), std::vector<std::string>{"pull-lag"});

  // The child's own change, once pushed, is in the parent's feed too, but
  // it is no lag: the child already holds it.
  ASSERT_EQ(Sync(child, "--pull").exit_code, 0);
  Put(child, "d", "female");
  rapidjson::Document pending = Status(child, 1);
  EXPECT_EQ(pending["pending"]["count"].GetInt64(), 1);
  EXPECT_TRUE(pending["pending"]["oldest_at"].IsString());
  EXPECT_EQ(Codes(pending), std::vector<std::string>{"pending"});
  ProcessResult push = Sync(child, "--push");
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  rapidjson::Document pushed = Status(child, 0);
  EXPECT_EQ(pushed["lag"]["changes"].GetInt64(), 0);
  EXPECT_EQ(pushed["pending"]["count"].GetInt64(), 0);
}

TEST_F(StatusProcessTest, PendingWithTheParentDownSaysWhy) {
  const std::string child = MakeChild("tablet");
  ASSERT_EQ(Sync(child, "--pull").exit_code, 0);
  Put(child, "x", "female");
  Put(child, "y", "male");
  parent_->Stop();
  rapidjson::Document doc = Status(child, 1);
  EXPECT_FALSE(doc["parent"]["reachable"].GetBool());
  EXPECT_THAT(std::string(doc["parent"]["unreachable_reason"].GetString()),
              HasSubstr(parent_->url()));
  EXPECT_TRUE(doc["lag"].IsNull());
  EXPECT_TRUE(doc["last_contact"].IsString());  // the pull before it went down
  EXPECT_EQ(doc["pending"]["count"].GetInt64(), 2);
  EXPECT_EQ(Codes(doc), (std::vector<std::string>{"pending", "parent-unreachable"}));

  // --timeout 0 does not ask: the store's view only, nothing unreachable.
  rapidjson::Document quiet = Status(child, 1, {"--timeout", "0"});
  EXPECT_TRUE(quiet["parent"]["reachable"].GetBool());
  EXPECT_EQ(Codes(quiet), std::vector<std::string>{"pending"});
}

TEST_F(StatusProcessTest, ParentThatNeverAnswersDoesNotHangStatus) {
  testing::FaultProxy proxy("127.0.0.1", parent_->port());
  FaultRule stall;
  stall.kind = FaultKind::kStall;
  stall.stall_ms = 30000;
  stall.times = -1;
  proxy.Add(stall);
  const std::string child = MakeChild("tablet", proxy.base_url(""));
  const auto start = std::chrono::steady_clock::now();
  rapidjson::Document doc = Status(child, 1, {"--timeout", "1"});
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  EXPECT_LT(seconds, 25) << "status waited for a parent that never answers";
  EXPECT_FALSE(doc["parent"]["reachable"].GetBool());
  EXPECT_THAT(std::string(doc["parent"]["unreachable_reason"].GetString()),
              HasSubstr("imeout"));
  EXPECT_EQ(Codes(doc), std::vector<std::string>{"parent-unreachable"});
}

TEST_F(StatusProcessTest, DeadLettersByClassWithTheNewestMessage) {
  testing::FaultProxy proxy("127.0.0.1", parent_->port());
  const std::string child = MakeChild("tablet", proxy.base_url(""));
  {
    // One change per request, so that each is refused with its own answer
    // (the proxy answers one entry of a batch Bundle).
    auto config = LoadNodeConfig(child);
    ASSERT_TRUE(config.ok()) << config.status();
    config->push.batch_size = 1;
    ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  }
  ASSERT_EQ(Sync(child, "--pull").exit_code, 0);
  Put(child, "p1", "female");
  Put(child, "p2", "male");
  Put(child, "p3", "other");
  auto refuse = [&](const std::string& id, int status, const std::string& diagnostics) {
    FaultRule rule;
    rule.method = "PUT";
    rule.path_part = "/fhir/Patient/" + id;
    rule.kind = FaultKind::kAnswer;
    rule.status = status;
    rule.times = 1;
    rule.body = R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                R"("code":"business-rule","diagnostics":")" + diagnostics + "\"}]}";
    proxy.Add(rule);
  };
  refuse("p1", 422, "stock may not go below zero");
  refuse("p2", 422, "birth date is in the future");
  refuse("p3", 400, "gender is not a code");
  ProcessResult push = Sync(child, "--push");
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;

  rapidjson::Document doc = Status(child, 1);
  ASSERT_EQ(doc["dead_letters"].Size(), 2u) << doc["lines"][0].GetString();
  const auto& rule = doc["dead_letters"][0];
  EXPECT_STREQ(rule["class"].GetString(), "business-rule");
  EXPECT_EQ(rule["count"].GetInt64(), 2);
  EXPECT_STREQ(rule["newest"]["id"].GetString(), "p2");
  EXPECT_EQ(rule["newest"]["http_status"].GetInt(), 422);
  EXPECT_THAT(std::string(rule["newest"]["message"].GetString()),
              HasSubstr("birth date is in the future"));
  const auto& invalid = doc["dead_letters"][1];
  EXPECT_STREQ(invalid["class"].GetString(), "invalid");
  EXPECT_EQ(invalid["count"].GetInt64(), 1);
  EXPECT_EQ(invalid["newest"]["http_status"].GetInt(), 400);
  EXPECT_THAT(std::string(invalid["newest"]["message"].GetString()),
              HasSubstr("gender is not a code"));
  EXPECT_EQ(Codes(doc), (std::vector<std::string>{"dead-letters", "dead-letters"}));
  const std::string seq = std::to_string(rule["newest"]["seq"].GetInt64());
  EXPECT_THAT(std::string(doc["problems"][0]["command"].GetString()),
              HasSubstr("fhirsync retry --dir " + child + " " + seq));
  EXPECT_TRUE(doc["last_contact"].IsString());  // refusing is answering

  // The mend the report names works: after retry and push, in step.
  ProcessResult retry = Fhirsync({"retry", "--all", "--dir", child});
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  ASSERT_EQ(Sync(child, "--push").exit_code, 0);
  rapidjson::Document mended = Status(child, 0);
  EXPECT_EQ(mended["dead_letters"].Size(), 0u);
}

TEST_F(StatusProcessTest, OpenConflictIsReported) {
  Put(parent_dir_, "p", "unknown");
  const std::string here = MakeChild("tablet-1");
  const std::string there = MakeChild("tablet-2");
  ASSERT_EQ(Sync(here, "--pull").exit_code, 0);
  ASSERT_EQ(Sync(there, "--pull").exit_code, 0);
  // Both change the same field of Patient/p; `there` sends first, so
  // `here` gets 412 and a merge that cannot be clean.
  Put(there, "p", "male");
  Put(here, "p", "female");
  ASSERT_EQ(Sync(there, "--push").exit_code, 0);
  ProcessResult push = Sync(here, "--push");
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;

  rapidjson::Document doc = Status(here, 1);
  EXPECT_EQ(doc["conflicts"]["open"].GetInt64(), 1);
  ASSERT_EQ(doc["conflicts"]["examples"].Size(), 1u);
  EXPECT_STREQ(doc["conflicts"]["examples"][0].GetString(), "Patient/p");
  std::vector<std::string> codes = Codes(doc);
  EXPECT_NE(std::find(codes.begin(), codes.end(), "conflicts"), codes.end());
  for (const auto& p : doc["problems"].GetArray()) {
    if (std::string(p["code"].GetString()) == "conflicts") {
      EXPECT_THAT(std::string(p["command"].GetString()), HasSubstr("fhirsync conflicts"));
    }
  }
}

TEST_F(StatusProcessTest, WrongPasswordPausesPushingAndIsReported) {
  const std::string child = MakeChild("tablet", "", "not the password");
  // Asked only: the parent refuses the credentials, nothing is paused yet.
  rapidjson::Document refused = Status(child, 1);
  EXPECT_FALSE(refused["auth"]["push_paused"].GetBool());
  EXPECT_THAT(std::string(refused["auth"]["parent_refuses"].GetString()), HasSubstr("401"));
  EXPECT_EQ(Codes(refused), std::vector<std::string>{"auth"});

  Put(child, "p", "female");
  ProcessResult push = Sync(child, "--push");
  EXPECT_FALSE(push.timed_out);
  rapidjson::Document paused = Status(child, 1);
  EXPECT_TRUE(paused["auth"]["push_paused"].GetBool());
  EXPECT_THAT(std::string(paused["auth"]["message"].GetString()), HasSubstr("401"));
  std::vector<std::string> codes = Codes(paused);
  ASSERT_FALSE(codes.empty());
  EXPECT_EQ(codes.front(), "auth");  // the most urgent
  EXPECT_THAT(std::string(paused["problems"][0]["command"].GetString()),
              HasSubstr("parent.password_file"));
  EXPECT_EQ(paused["pending"]["count"].GetInt64(), 1);  // nothing lost
}

// verify by real processes where tests/verify has no case: a resource only
// on this node (never pushed) is missing on the parent, mended by a push.
TEST_F(StatusProcessTest, VerifyNamesWhatTheParentLacksAndThePushMendsIt) {
  const std::string child = MakeChild("tablet");
  ASSERT_EQ(Sync(child, "--pull").exit_code, 0);
  Put(child, "only-here", "female");
  ProcessResult differ = Fhirsync({"verify", "--json", "--dir", child});
  ASSERT_EQ(differ.exit_code, 1) << differ.out << differ.err;
  rapidjson::Document doc;
  doc.Parse(differ.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << differ.out;
  ASSERT_EQ(doc["findings"].Size(), 1u) << differ.out;
  EXPECT_STREQ(doc["findings"][0]["kind"].GetString(), "missing-on-parent");
  EXPECT_STREQ(doc["findings"][0]["id"].GetString(), "only-here");
  EXPECT_STREQ(doc["findings"][0]["fix"].GetString(), "push");
  EXPECT_TRUE(doc["findings"][0]["local_change_queued"].GetBool());
  ASSERT_EQ(Sync(child, "--push").exit_code, 0);
  ProcessResult same = Fhirsync({"verify", "--json", "--dir", child});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
}

}  // namespace
}  // namespace fhirsync
