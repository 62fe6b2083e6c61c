// Business rules on the parent: server.rules from the config and the
// embedding host's NodeServer::Options::check_write hook, over real HTTP on
// 127.0.0.1 against the fake store. A broken rule is 422 with an
// OperationOutcome naming the rule, and nothing is stored.

#include <gtest/gtest.h>

#include "fake_store.h"
#include "fhirsync/credentials.h"
#include "fhirsync/node_server.h"
#include "interaction_tests.h"
#include "server/business_rules.h"

namespace fhirsync::testing {
namespace {

NodeConfig RulesConfig() {
  static const NodeConfig config = [] {
    NodeConfig c;
    c.node_id = "rules-parent";
    c.server.bind = "127.0.0.1";
    c.server.port = 0;
    c.server.threads = 2;
    c.server.users.push_back(*MakeUser(kWriter, PasswordOf(kWriter), {"read", "write"}));
    RuleConfig rule;
    rule.name = "patient-birth-date";
    rule.type = "Patient";
    rule.required = {"birthDate", "name.family"};
    rule.message = "the national registry needs a birth date and a family name";
    c.server.rules.push_back(rule);
    return c;
  }();
  return config;
}

constexpr char kComplete[] =
    R"({"resourceType":"Patient","id":"p1","birthDate":"1990-04-01","name":[{"family":"Doe"}]})";
constexpr char kNoBirthDate[] =
    R"({"resourceType":"Patient","id":"p1","birthDate":"","name":[{"family":"Doe"}]})";

class BusinessRulesTest : public ::testing::Test {
 protected:
  void Start(NodeServer::Options options = {}) {
    server_ = std::make_unique<NodeServer>(RulesConfig(), store_, std::move(options));
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  TestClient Client() {
    return TestClient("127.0.0.1", server_->port(), BasicAuth(kWriter, PasswordOf(kWriter)));
  }

  FakeStore store_;
  std::unique_ptr<NodeServer> server_;
};

TEST_F(BusinessRulesTest, PutBreakingARuleIs422NamingTheRuleAndStoresNothing) {
  Start();
  TestClient client = Client();
  Reply refused = client.Put("/fhir/Patient/p1", kNoBirthDate);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.IssueCode(), "business-rule");
  EXPECT_EQ(refused.Diagnostics(),
            "business rule 'patient-birth-date' refuses Patient/p1: the national registry needs "
            "a birth date and a family name (missing: birthDate)");
  EXPECT_EQ(client.Get("/fhir/Patient/p1").status, 404);

  Reply accepted = client.Put("/fhir/Patient/p1", kComplete);
  EXPECT_EQ(accepted.status, 201) << accepted.body;
  // Other types are not touched by a Patient rule.
  EXPECT_EQ(client.Put("/fhir/Observation/o1", R"({"resourceType":"Observation","id":"o1"})")
                .status,
            201);
}

TEST_F(BusinessRulesTest, PostAndBundleEntriesAreCheckedToo) {
  Start();
  TestClient client = Client();
  Reply created = client.Post("/fhir/Patient", R"({"resourceType":"Patient","name":[{}]})");
  EXPECT_EQ(created.status, 422) << created.body;
  EXPECT_NE(created.Diagnostics().find("(missing: birthDate, name.family)"), std::string::npos)
      << created.Diagnostics();

  // batch: the broken entry gets its own 422, the others are stored.
  Reply batch = client.Post("/fhir", std::string(R"({"resourceType":"Bundle","type":"batch",
    "entry":[{"resource":)") + kNoBirthDate + R"(,"request":{"method":"PUT","url":"Patient/p1"}},
    {"resource":{"resourceType":"Patient","id":"p2","birthDate":"1985","name":[{"family":"Roe"}]},
     "request":{"method":"PUT","url":"Patient/p2"}}]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  rapidjson::Document doc = batch.Json();
  ASSERT_TRUE(doc.HasMember("entry") && doc["entry"].Size() == 2) << batch.body;
  EXPECT_STREQ(doc["entry"][0]["response"]["status"].GetString(), "422 Unprocessable Entity");
  EXPECT_STREQ(doc["entry"][0]["response"]["outcome"]["issue"][0]["code"].GetString(),
               "business-rule");
  EXPECT_STREQ(doc["entry"][1]["response"]["status"].GetString(), "201 Created");
  EXPECT_EQ(client.Get("/fhir/Patient/p1").status, 404);
  EXPECT_EQ(client.Get("/fhir/Patient/p2").status, 200);

  // transaction: all or nothing, answered 422.
  Reply transaction = client.Post("/fhir", std::string(R"({"resourceType":"Bundle",
    "type":"transaction","entry":[{"resource":)") + kComplete +
    R"(,"request":{"method":"PUT","url":"Patient/p1"}},{"resource":)" + kNoBirthDate +
    R"(,"request":{"method":"PUT","url":"Patient/p1"}}]})");
  EXPECT_EQ(transaction.status, 422) << transaction.body;
  EXPECT_EQ(transaction.IssueCode(), "business-rule");
  EXPECT_NE(transaction.Diagnostics().find("transaction failed, nothing was written: entry 1"),
            std::string::npos)
      << transaction.Diagnostics();
  EXPECT_EQ(client.Get("/fhir/Patient/p1").status, 404);
}

TEST_F(BusinessRulesTest, HostHookRefusesAfterTheConfiguredRules) {
  NodeServer::Options options;
  options.check_write = [](const Resource& incoming) {
    if (incoming.type == "Observation" &&
        incoming.body.find("\"status\":\"final\"") == std::string::npos) {
      return FailedPreconditionError("only final observations are accepted here");
    }
    return Status::Ok();
  };
  Start(std::move(options));
  TestClient client = Client();
  Reply refused =
      client.Put("/fhir/Observation/o1", R"({"resourceType":"Observation","id":"o1"})");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.IssueCode(), "business-rule");
  EXPECT_EQ(refused.Diagnostics(),
            "business rule of the host application refuses Observation/o1: only final "
            "observations are accepted here");
  EXPECT_EQ(client.Put("/fhir/Observation/o1",
                       R"({"resourceType":"Observation","id":"o1","status":"final"})")
                .status,
            201);
  // The configured rule answers first.
  EXPECT_NE(client.Put("/fhir/Patient/p1", kNoBirthDate).Diagnostics().find("patient-birth-date"),
            std::string::npos);
}

TEST(HasElementTest, FollowsMembersAndCrossesLists) {
  rapidjson::Document doc;
  doc.Parse(R"({"a":"x","empty":"","none":null,"list":[],"obj":{},"n":0,"b":false,
                "name":[{"given":[]},{"family":"Doe","given":["","Jo"]}]})");
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_TRUE(server::HasElement(doc, "a"));
  EXPECT_TRUE(server::HasElement(doc, "n"));
  EXPECT_TRUE(server::HasElement(doc, "b"));
  EXPECT_FALSE(server::HasElement(doc, "empty"));
  EXPECT_FALSE(server::HasElement(doc, "none"));
  EXPECT_FALSE(server::HasElement(doc, "list"));
  EXPECT_FALSE(server::HasElement(doc, "obj"));
  EXPECT_FALSE(server::HasElement(doc, "absent"));
  EXPECT_TRUE(server::HasElement(doc, "name.family"));
  EXPECT_TRUE(server::HasElement(doc, "name.given"));
  EXPECT_FALSE(server::HasElement(doc, "name.prefix"));
  EXPECT_FALSE(server::HasElement(doc, "a.b"));
}

}  // namespace
}  // namespace fhirsync::testing
