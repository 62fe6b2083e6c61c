// Two children of one parent edit the same Patient offline, then sync: real
// `fhirsync serve` and `fhirsync sync` processes, real SQLite stores. Edits
// of different fields both survive on every node; edits of the same field
// become a conflict on the second pusher that each operator path settles
// (resolve --take local|server|FILE, discard, retry --force), after which
// every node holds the same data.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>

#include "e2e/sync_node.h"
#include "support/temp_dir.h"

namespace fhirsync::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kPatientKey[] = "Patient/shared-1";

// The Patient with the given gender and birth date, and a phone when given.
std::string Patient(const std::string& gender, const std::string& birth_date,
                    const std::string& phone = "") {
  std::string body = R"({"resourceType":"Patient","id":"shared-1","gender":")" + gender +
                     R"(","birthDate":")" + birth_date +
                     R"(","name":[{"family":"Okafor","given":["Ada"]}])";
  if (!phone.empty()) body += R"(,"telecom":[{"system":"phone","value":")" + phone + "\"}]";
  return body + "}";
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

// `sync` ended well and printed the summaries asked for.
void ExpectOk(const SyncRun& run, bool pull = true, bool push = true) {
  EXPECT_EQ(run.process.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.pulled, pull) << run.Describe();
  EXPECT_EQ(run.pushed, push) << run.Describe();
}

class TwoChildrenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.InitRoot());
    ASSERT_TRUE(root_.AdmitChild(a_.node_id()));
    ASSERT_TRUE(root_.AdmitChild(b_.node_id()));
    ASSERT_TRUE(root_.Put(Patient("female", "1980-04-01")));
    ASSERT_TRUE(root_.Serve());
    ASSERT_TRUE(a_.InitChild(root_));
    ASSERT_TRUE(b_.InitChild(root_));
    // Both children hold the Patient before they go offline.
    for (SyncNode* child : {&a_, &b_}) {
      SyncRun first = child->Sync();
      ExpectOk(first);
      EXPECT_EQ(first.pull["applied"], 1) << first.Describe();
    }
  }

  // The Patient's current body on `node`, without meta.
  std::string Body(const SyncNode& node) {
    Contents contents = node.ReadContents();
    return contents.count(kPatientKey) ? contents[kPatientKey] : "<none>";
  }

  // Every node holds the same Patient, both children agree with the root
  // on its version, and nothing waits anywhere.
  void ExpectConverged() {
    ExpectIdentical({&root_, &a_, &b_});
    ExpectAgreesWithParent(a_, root_);
    ExpectAgreesWithParent(b_, root_);
    for (const SyncNode* node : {&root_, &a_, &b_}) ExpectSettled(*node);
  }

  // A second round on every child moves nothing.
  void ExpectQuiet() {
    for (SyncNode* child : {&a_, &b_}) {
      SyncRun run = child->Sync();
      ExpectOk(run);
      EXPECT_EQ(run.pull["applied"], 0) << run.Describe();
      EXPECT_EQ(run.pull["conflicts"], 0) << run.Describe();
      EXPECT_EQ(run.push["sent"], 0) << run.Describe();
      EXPECT_EQ(run.push["requests"], 0) << run.Describe();
    }
  }

  // a sets the gender to male, b to other; a syncs first, so b's push is a
  // conflict: returns its conflict id on b (and b's outbox seq).
  std::string MakeConflict(std::string* outbox_seq) {
    EXPECT_TRUE(a_.Put(Patient("male", "1980-04-01")));
    EXPECT_TRUE(b_.Put(Patient("other", "1980-04-01")));
    ExpectOk(a_.Sync());
    SyncRun second = b_.Sync();
    ExpectOk(second);
    EXPECT_EQ(second.push["conflicts"], 1) << second.Describe();
    EXPECT_EQ(second.push["sent"], 0) << second.Describe();
    testing::ProcessResult list = b_.Run({"conflicts", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    rapidjson::Document conflicts = Json(list.out);
    EXPECT_TRUE(conflicts.IsArray());
    EXPECT_EQ(conflicts.Size(), 1u) << "one open conflict per resource: " << list.out;
    if (!conflicts.IsArray() || conflicts.Empty()) return "0";
    testing::ProcessResult show =
        b_.Run({"conflicts", "show", std::to_string(conflicts[0]["conflict_id"].GetInt64()),
                "--json"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    rapidjson::Document shown = Json(show.out);
    EXPECT_STREQ(shown["local"]["gender"].GetString(), "other");
    EXPECT_STREQ(shown["server"]["gender"].GetString(), "male");
    EXPECT_STREQ(shown["base"]["gender"].GetString(), "female");
    testing::ProcessResult outbox = b_.Run({"outbox", "--json"});
    rapidjson::Document items = Json(outbox.out);
    EXPECT_EQ(items["items"].Size(), 1u) << outbox.out;
    if (items["items"].Size() == 1) {
      EXPECT_STREQ(items["items"][0]["state"].GetString(), "dead");
      EXPECT_STREQ(items["items"][0]["class"].GetString(), "conflict");
      *outbox_seq = std::to_string(items["items"][0]["seq"].GetInt64());
    }
    // The root kept a's version; b still shows its own edit, not lost.
    EXPECT_THAT(Body(root_), HasSubstr("\"gender\":\"male\""));
    EXPECT_THAT(Body(b_), HasSubstr("\"gender\":\"other\""));
    return std::to_string(conflicts[0]["conflict_id"].GetInt64());
  }

  // After an operator action on b: a round on b, then on a, then every
  // node holds `gender`.
  void FinishAndExpectGender(const std::string& gender) {
    ExpectOk(b_.Sync());
    ExpectOk(a_.Sync());
    for (const SyncNode* node : {&root_, &a_, &b_}) {
      EXPECT_THAT(Body(*node), HasSubstr("\"gender\":\"" + gender + "\"")) << node->node_id();
    }
    ExpectConverged();
    ExpectQuiet();
  }

  testing::TempDir tmp_{"fhirsync-e2e-two"};
  SyncNode root_{tmp_.Sub("root"), "root"};
  SyncNode a_{tmp_.Sub("clinic-a"), "clinic-a"};
  SyncNode b_{tmp_.Sub("clinic-b"), "clinic-b"};
};

TEST_F(TwoChildrenTest, DifferentFieldsBothSurviveWhenEachPullsThenPushes) {
  ASSERT_TRUE(a_.Put(Patient("female", "1980-04-02")));
  ASSERT_TRUE(b_.Put(Patient("female", "1980-04-01", "+234-800-555")));
  SyncRun first = a_.Sync();
  ExpectOk(first);
  EXPECT_EQ(first.push["sent"], 1) << first.Describe();
  SyncRun second = b_.Sync();
  ExpectOk(second);
  EXPECT_EQ(second.push["merged"], 1) << second.Describe();
  EXPECT_EQ(second.push["sent"], 1) << second.Describe();
  EXPECT_EQ(second.push["conflicts"], 0) << second.Describe();
  SyncRun third = a_.Sync();
  ExpectOk(third);
  EXPECT_EQ(third.pull["applied"], 1) << third.Describe();

  const std::string merged = Patient("female", "1980-04-02", "+234-800-555");
  for (const SyncNode* node : {&root_, &a_, &b_}) {
    EXPECT_TRUE(SameJson(Body(*node), merged)) << node->node_id() << ": " << Body(*node);
  }
  ExpectConverged();
  ExpectQuiet();
}

TEST_F(TwoChildrenTest, DifferentFieldsBothSurviveWhenBothPushBeforePulling) {
  ASSERT_TRUE(b_.Put(Patient("female", "1980-04-01", "+234-800-555")));
  ASSERT_TRUE(a_.Put(Patient("female", "1980-04-02")));
  SyncRun b_push = b_.Sync(/*pull=*/false, /*push=*/true);
  ExpectOk(b_push, false, true);
  EXPECT_EQ(b_push.push["sent"], 1) << b_push.Describe();
  SyncRun a_push = a_.Sync(/*pull=*/false, /*push=*/true);
  ExpectOk(a_push, false, true);
  EXPECT_EQ(a_push.push["merged"], 1) << a_push.Describe();
  // Pulls now: each child already agrees with the newest version or takes it.
  for (int round = 0; round < 2; ++round) {
    for (SyncNode* child : {&b_, &a_}) {
      SyncRun run = child->Sync(/*pull=*/true, /*push=*/false);
      ExpectOk(run, true, false);
      EXPECT_EQ(run.pull["conflicts"], 0) << run.Describe();
    }
  }
  const std::string merged = Patient("female", "1980-04-02", "+234-800-555");
  for (const SyncNode* node : {&root_, &a_, &b_}) {
    EXPECT_TRUE(SameJson(Body(*node), merged)) << node->node_id() << ": " << Body(*node);
  }
  ExpectConverged();
  ExpectQuiet();
}

TEST_F(TwoChildrenTest, SameFieldConflictResolvedByTakingLocal) {
  std::string seq;
  const std::string id = MakeConflict(&seq);
  testing::ProcessResult resolve = b_.Run({"conflicts", "resolve", id, "--take", "local"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  FinishAndExpectGender("other");
}

TEST_F(TwoChildrenTest, SameFieldConflictResolvedByTakingServer) {
  std::string seq;
  const std::string id = MakeConflict(&seq);
  testing::ProcessResult resolve = b_.Run({"conflicts", "resolve", id, "--take", "server"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  EXPECT_THAT(Body(b_), HasSubstr("\"gender\":\"male\""));
  FinishAndExpectGender("male");
  // b's own edit is not silently gone: the audit log keeps it.
  testing::ProcessResult audit = b_.Run({"audit", "--operation", "resolve", "--json"});
  EXPECT_THAT(audit.out, HasSubstr("other"));
}

TEST_F(TwoChildrenTest, SameFieldConflictResolvedWithAMergedFile) {
  std::string seq;
  const std::string id = MakeConflict(&seq);
  const std::string file = tmp_.Sub("merged.json");
  std::ofstream(file) << Patient("unknown", "1980-04-01", "+234-800-555");
  testing::ProcessResult resolve = b_.Run({"conflicts", "resolve", id, "--take", file});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  FinishAndExpectGender("unknown");
  EXPECT_TRUE(SameJson(Body(a_), Patient("unknown", "1980-04-01", "+234-800-555")))
      << Body(a_);
}

TEST_F(TwoChildrenTest, SameFieldConflictDiscardedLeavesTheServerVersion) {
  std::string seq;
  MakeConflict(&seq);
  testing::ProcessResult discard = b_.Run({"discard", seq});
  ASSERT_EQ(discard.exit_code, 0) << discard.err;
  EXPECT_THAT(Body(b_), HasSubstr("\"gender\":\"male\""));
  FinishAndExpectGender("male");
  testing::ProcessResult audit = b_.Run({"audit", "--status", "discarded", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  rapidjson::Document rows = Json(audit.out);
  ASSERT_EQ(rows.Size(), 1u) << audit.out;
  EXPECT_THAT(rows[0]["message"].GetString(), HasSubstr("\"gender\":\"other\""));
}

TEST_F(TwoChildrenTest, SameFieldConflictForcedOverTheServerByAnAdmin) {
  ASSERT_TRUE(b_.AddUser("ward-admin", "admin-pw", "admin"));
  std::string seq;
  MakeConflict(&seq);
  testing::ProcessResult refused = b_.Run({"retry", seq, "--force"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("needs admin credentials"));
  testing::ProcessResult forced =
      b_.Run({"retry", seq, "--force", "--user", "ward-admin"}, "admin-pw\n");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  FinishAndExpectGender("other");
}

}  // namespace
}  // namespace fhirsync::e2e
