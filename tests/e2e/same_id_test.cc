// Two children of one parent create a resource with the same host-given id
// (an MRN, not a UUID) while offline, then sync: real `fhirsync serve` and
// `fhirsync sync` processes, real SQLite stores, the real fhir plugin. The
// second child's create must not replace the first on the parent: with
// different content it becomes a conflict (no common base) that names the
// resource and the reason and that the operator resolves either way; with
// the same content (both imported one file) the nodes simply agree.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "e2e/sync_node.h"
#include "support/temp_dir.h"

namespace fhirsync::e2e {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "Patient/patient-MRN123";

std::string Registration(const std::string& family, const std::string& gender) {
  return R"({"resourceType":"Patient","id":"patient-MRN123","identifier":[{"system":)"
         R"("urn:mrn","value":"MRN123"}],"name":[{"family":")" +
         family + R"("}],"gender":")" + gender + R"("})";
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  EXPECT_FALSE(doc.HasParseError()) << text;
  return doc;
}

void ExpectOk(const SyncRun& run) {
  EXPECT_EQ(run.process.exit_code, 0) << run.Describe();
  EXPECT_TRUE(run.pulled) << run.Describe();
  EXPECT_TRUE(run.pushed) << run.Describe();
}

class SameIdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.InitRoot());
    ASSERT_TRUE(root_.AdmitChild(a_.node_id()));
    ASSERT_TRUE(root_.AdmitChild(b_.node_id()));
    ASSERT_TRUE(root_.Serve());
    ASSERT_TRUE(a_.InitChild(root_));
    ASSERT_TRUE(b_.InitChild(root_));
  }

  std::string Body(const SyncNode& node) {
    Contents contents = node.ReadContents();
    return contents.count(kKey) ? contents[kKey] : "<none>";
  }

  // a and b register the same MRN offline with the given bodies (b also a
  // patient of its own, so that its push is one batch Bundle of two
  // creates); a syncs first, then b.
  SyncRun CreateOnBoth(const std::string& on_a, const std::string& on_b) {
    EXPECT_TRUE(a_.Put(on_a));
    EXPECT_TRUE(b_.Put(on_b));
    EXPECT_TRUE(b_.Put(R"({"resourceType":"Patient","id":"patient-MRN456","gender":"male"})"));
    SyncRun first = a_.Sync();
    ExpectOk(first);
    EXPECT_EQ(first.push["sent"], 1) << first.Describe();
    SyncRun second = b_.Sync();
    ExpectOk(second);
    return second;
  }

  // b's conflict, checked as the operator sees it; returns its id.
  std::string ExpectConflictOnB() {
    testing::ProcessResult list = b_.Run({"conflicts", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    rapidjson::Document conflicts = Json(list.out);
    EXPECT_TRUE(conflicts.IsArray() && conflicts.Size() == 1u) << list.out;
    if (!conflicts.IsArray() || conflicts.Size() != 1u) return "0";
    const rapidjson::Value& c = conflicts[0];
    EXPECT_STREQ(c["type"].GetString(), "Patient");
    EXPECT_STREQ(c["id"].GetString(), "patient-MRN123");
    EXPECT_EQ(c["base_version"].GetInt64(), 0);
    EXPECT_THAT(c["reason"].GetString(),
                HasSubstr("created here and on the parent (another node) with the same id "
                          "Patient/patient-MRN123"));
    const std::string id = std::to_string(c["conflict_id"].GetInt64());

    testing::ProcessResult text = b_.Run({"conflicts"});
    EXPECT_THAT(text.out, HasSubstr("Patient/patient-MRN123"));
    EXPECT_THAT(text.out, HasSubstr("created here and on the parent"));
    testing::ProcessResult show = b_.Run({"conflicts", "show", id, "--json"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    rapidjson::Document shown = Json(show.out);
    EXPECT_TRUE(shown["base"].IsNull()) << show.out;
    EXPECT_STREQ(shown["local"]["name"][0]["family"].GetString(), "Bello");
    EXPECT_STREQ(shown["server"]["name"][0]["family"].GetString(), "Adeyemi");

    // status names the resource, the reason and the way out.
    testing::ProcessResult status = b_.Run({"status", "--json", "--timeout", "10"});
    EXPECT_EQ(status.exit_code, 1) << status.out << status.err;
    rapidjson::Document report = Json(status.out);
    EXPECT_EQ(report["conflicts"]["open"].GetInt64(), 1) << status.out;
    EXPECT_STREQ(report["conflicts"]["examples"][0].GetString(), kKey);
    bool named = false;
    for (const rapidjson::Value& letter : report["dead_letters"].GetArray()) {
      if (std::string(letter["class"].GetString()) != "conflict") continue;
      named = true;
      EXPECT_EQ(letter["newest"]["http_status"].GetInt(), 412);
      EXPECT_THAT(letter["newest"]["message"].GetString(),
                  HasSubstr("Patient/patient-MRN123 was created here, but the parent already "
                            "holds a resource with this id"));
    }
    EXPECT_TRUE(named) << status.out;
    EXPECT_THAT(status.out, HasSubstr("fhirsync conflicts resolve ID --take local|server|FILE"));

    // The root kept a's registration; b's is still here, not lost.
    EXPECT_THAT(Body(root_), HasSubstr("Adeyemi"));
    EXPECT_THAT(Body(b_), HasSubstr("Bello"));
    return id;
  }

  // After b's decision: a round on b, then on a; every node holds `family`,
  // agrees with the root, and nothing waits anywhere; a further round moves
  // nothing.
  void FinishWith(const std::string& family) {
    ExpectOk(b_.Sync());
    ExpectOk(a_.Sync());
    for (const SyncNode* node : {&root_, &a_, &b_}) {
      EXPECT_THAT(Body(*node), HasSubstr(family)) << node->node_id();
    }
    ExpectIdentical({&root_, &a_, &b_});
    ExpectAgreesWithParent(a_, root_);
    ExpectAgreesWithParent(b_, root_);
    for (const SyncNode* node : {&root_, &a_, &b_}) ExpectSettled(*node);
    for (SyncNode* child : {&a_, &b_}) {
      SyncRun run = child->Sync();
      ExpectOk(run);
      EXPECT_EQ(run.pull["applied"], 0) << run.Describe();
      EXPECT_EQ(run.push["sent"], 0) << run.Describe();
      EXPECT_EQ(run.push["requests"], 0) << run.Describe();
    }
  }

  testing::TempDir tmp_{"fhirsync-e2e-same-id"};
  SyncNode root_{tmp_.Sub("root"), "root"};
  SyncNode a_{tmp_.Sub("clinic-a"), "clinic-a"};
  SyncNode b_{tmp_.Sub("clinic-b"), "clinic-b"};
};

TEST_F(SameIdTest, DifferentContentIsAConflictResolvedByTakingLocal) {
  SyncRun second = CreateOnBoth(Registration("Adeyemi", "female"), Registration("Bello", "male"));
  EXPECT_EQ(second.push["conflicts"], 1) << second.Describe();
  EXPECT_EQ(second.push["sent"], 1) << second.Describe();  // MRN456, in the same Bundle
  EXPECT_EQ(second.push["requests"], 2) << second.Describe();  // the Bundle, one read
  const std::string id = ExpectConflictOnB();
  testing::ProcessResult resolve = b_.Run({"conflicts", "resolve", id, "--take", "local"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  FinishWith("Bello");
  // a's registration is not silently gone: it stays in the root's history.
  std::unique_ptr<LocalStore> root = root_.OpenStore();
  ASSERT_NE(root, nullptr);
  StatusOr<Resource> first = root->GetVersion("Patient", "patient-MRN123", 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(first->body, HasSubstr("Adeyemi"));
}

TEST_F(SameIdTest, DifferentContentIsAConflictResolvedByTakingServer) {
  SyncRun second = CreateOnBoth(Registration("Adeyemi", "female"), Registration("Bello", "male"));
  EXPECT_EQ(second.push["conflicts"], 1) << second.Describe();
  const std::string id = ExpectConflictOnB();
  testing::ProcessResult resolve = b_.Run({"conflicts", "resolve", id, "--take", "server"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  EXPECT_THAT(Body(b_), HasSubstr("Adeyemi"));
  FinishWith("Adeyemi");
  // b's registration is kept in its audit log.
  testing::ProcessResult audit = b_.Run({"audit", "--operation", "resolve", "--json"});
  EXPECT_THAT(audit.out, HasSubstr("Bello"));
}

TEST_F(SameIdTest, SameContentOnBothIsAgreedWithoutAConflict) {
  const std::string body = Registration("Adeyemi", "female");
  SyncRun second = CreateOnBoth(body, body);
  // The pull meets the same content first: agreed there, no conflict at
  // any step; the push then has only MRN456 to send.
  EXPECT_EQ(second.pull["conflicts"], 0) << second.Describe();
  EXPECT_EQ(second.pull["unchanged"], 1) << second.Describe();
  EXPECT_EQ(second.push["conflicts"], 0) << second.Describe();
  EXPECT_EQ(second.push["sent"], 1) << second.Describe();
  EXPECT_EQ(second.push["requests"], 1) << second.Describe();
  testing::ProcessResult list = b_.Run({"conflicts", "--json"});
  EXPECT_EQ(Json(list.out).Size(), 0u) << list.out;
  testing::ProcessResult status = b_.Run({"status", "--json", "--timeout", "10"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  // The root holds one version: the second create was not written over it.
  std::unique_ptr<LocalStore> root = root_.OpenStore();
  ASSERT_NE(root, nullptr);
  StatusOr<Resource> held = root->Get("Patient", "patient-MRN123");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->version, 1);
  FinishWith("Adeyemi");
}

}  // namespace
}  // namespace fhirsync::e2e
