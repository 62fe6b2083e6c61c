#include "fhirsync/config.h"

#include <gtest/gtest.h>

#include <string>

namespace fhirsync {
namespace {

TEST(ConfigTest, DefaultsRoundTrip) {
  NodeConfig config;
  config.node_id = "facility-1";
  config.pull.types = {"Patient", "Encounter"};
  config.plugins.routes["visittype"] = "openmrs-rest";
  auto parsed = ParseNodeConfig(SerializeNodeConfig(config), "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(SerializeNodeConfig(*parsed), SerializeNodeConfig(config));
  EXPECT_EQ(parsed->store.backend, "sqlite");
  EXPECT_EQ(parsed->store.max_body_bytes, kDefaultMaxBodyBytes);
  EXPECT_EQ(parsed->server.max_response_bytes, 64u * 1024u * 1024u);
}

TEST(ConfigTest, MinimalFileNeedsOnlyNodeId) {
  auto parsed = ParseNodeConfig(R"({"node_id":"n1"})", "f.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->pull.batch_size, 100);
}

TEST(ConfigTest, ErrorsNameTheKey) {
  auto msg = [](const char* json) { return ParseNodeConfig(json, "f.json").status().message(); };
  EXPECT_EQ(msg(R"({"node_id":"n1","store":{"bakend":"sqlite"}})"),
            "f.json: store.bakend: unknown key");
  EXPECT_EQ(msg(R"({"node_id":"n1","colour":1})"), "f.json: colour: unknown key");
  EXPECT_EQ(msg(R"({"node_id":"n1","pull":{"batch_size":"10"}})"),
            "f.json: pull.batch_size: expected an integer");
  EXPECT_EQ(msg(R"({"node_id":"n1","server":{"port":70000}})"),
            "f.json: server.port: must be between 0 and 65535, not 70000");
  EXPECT_EQ(msg(R"({"node_id":"n1","server":{"max_response_bytes":1000}})"),
            "f.json: server.max_response_bytes: must be between 65536 and 4294967296, not 1000");
  EXPECT_EQ(msg(R"({"node_id":"n1","store":{"backend":"mysql"}})"),
            "f.json: store.backend: unknown backend 'mysql' (sqlite or postgresql)");
  EXPECT_EQ(msg(R"({"node_id":"n1","server":{"users":[{"name":"a","roles":["root"]}]}})"),
            "f.json: server.users[0].roles: unknown role 'root' (read, write, admin)");
  EXPECT_EQ(msg(R"({"store":{}})"), "f.json: node_id: required");
  EXPECT_NE(msg(R"({"node_id":"n1",)").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(msg(R"({"node_id":"bad id"})").substr(0, 16), "f.json: node_id:");
}

TEST(ConfigTest, BusinessRulesRoundTrip) {
  auto parsed = ParseNodeConfig(R"({"node_id":"n1","server":{"rules":[
      {"name":"patient-birth-date","type":"Patient","required":["birthDate","name.family"],
       "message":"the registry needs a birth date"}]}})",
                                "f.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->server.rules.size(), 1u);
  const RuleConfig& rule = parsed->server.rules[0];
  EXPECT_EQ(rule.name, "patient-birth-date");
  EXPECT_EQ(rule.type, "Patient");
  EXPECT_EQ(rule.required, (std::vector<std::string>{"birthDate", "name.family"}));
  EXPECT_EQ(rule.message, "the registry needs a birth date");
  auto again = ParseNodeConfig(SerializeNodeConfig(*parsed), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(SerializeNodeConfig(*again), SerializeNodeConfig(*parsed));
}

TEST(ConfigTest, BusinessRuleErrorsNameTheKey) {
  auto msg = [](const std::string& rules) {
    return ParseNodeConfig(R"({"node_id":"n1","server":{"rules":)" + rules + "}}", "f.json")
        .status()
        .message();
  };
  EXPECT_EQ(msg(R"({})"), "f.json: server.rules: expected an array");
  EXPECT_EQ(msg(R"([1])"), "f.json: server.rules[0]: expected an object");
  EXPECT_EQ(msg(R"([{"name":"r","type":"Patient","required":["birthDate"],"colour":1}])"),
            "f.json: server.rules[0].colour: unknown key");
  EXPECT_EQ(msg(R"([{"name":"r","type":"Patient","required":"birthDate"}])"),
            "f.json: server.rules[0].required: expected an array of strings");
  EXPECT_EQ(msg(R"([{"name":7,"type":"Patient","required":["birthDate"]}])"),
            "f.json: server.rules[0].name: expected a string");
  EXPECT_EQ(msg(R"([{"type":"Patient","required":["birthDate"]}])"),
            "f.json: server.rules[0].name: required");
  EXPECT_EQ(msg(R"([{"name":"r","required":["birthDate"]}])"),
            "f.json: server.rules[0].type: required");
  EXPECT_EQ(msg(R"([{"name":"r","type":"Patient"}])"),
            "f.json: server.rules[0].required: list at least one element path");
  EXPECT_EQ(msg(R"([{"name":"r","type":"Patient","required":["name..family"]}])"),
            "f.json: server.rules[0].required: 'name..family' is not an element path (like "
            "birthDate or name.family)");
  EXPECT_EQ(msg(R"([{"name":"r","type":"Patient","required":["a"]},
                    {"name":"r","type":"Patient","required":["b"]}])"),
            "f.json: server.rules[1].name: 'r' is the name of an earlier rule");
  EXPECT_EQ(msg(R"([{"name":"r","type":"not a type","required":["a"]}])").substr(0, 30),
            "f.json: server.rules[0].type: ");
}

TEST(ConfigTest, ParentLimitsHaveDefaultsRangesAndRoundTrip) {
  auto defaults = ParseNodeConfig(R"({"node_id":"n1"})", "f.json");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->parent.max_answer_bytes, 64u * 1024u * 1024u);
  EXPECT_EQ(defaults->parent.request_deadline_seconds, 300);
  auto set = ParseNodeConfig(
      R"({"node_id":"n1","parent":{"max_answer_bytes":1048576,"request_deadline_seconds":20}})",
      "f.json");
  ASSERT_TRUE(set.ok()) << set.status();
  auto again = ParseNodeConfig(SerializeNodeConfig(*set), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->parent.max_answer_bytes, 1048576u);
  EXPECT_EQ(again->parent.request_deadline_seconds, 20);
  EXPECT_EQ(ParseNodeConfig(R"({"node_id":"n1","parent":{"request_deadline_seconds":0}})", "f.json")
                .status()
                .message(),
            "f.json: parent.request_deadline_seconds: must be between 1 and 86400, not 0");
  EXPECT_EQ(ParseNodeConfig(R"({"node_id":"n1","parent":{"max_answer_bytes":10}})", "f.json")
                .status()
                .message(),
            "f.json: parent.max_answer_bytes: must be between 1024 and 4294967296, not 10");
}

TEST(ConfigTest, ServerEdgeKeysHaveDefaultsRangesAndRoundTrip) {
  auto defaults = ParseNodeConfig(R"({"node_id":"n1"})", "f.json");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->server.header_timeout_seconds, 10);
  EXPECT_EQ(defaults->server.body_timeout_seconds, 60);
  EXPECT_EQ(defaults->server.max_connections_per_address, 64);
  EXPECT_EQ(defaults->server.max_connections, 10000);
  EXPECT_FALSE(defaults->server.allow_plaintext);
  EXPECT_FALSE(defaults->server.tls.enabled());
  auto set = ParseNodeConfig(
      R"({"node_id":"n1","server":{"header_timeout_seconds":3,"body_timeout_seconds":7,)"
      R"("max_connections_per_address":5,"max_connections":9,"allow_plaintext":true,)"
      R"("tls":{"cert_file":"c.pem","key_file":"k.pem","client_ca_file":"ca.pem"}}})",
      "f.json");
  ASSERT_TRUE(set.ok()) << set.status();
  auto again = ParseNodeConfig(SerializeNodeConfig(*set), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->server.header_timeout_seconds, 3);
  EXPECT_EQ(again->server.body_timeout_seconds, 7);
  EXPECT_EQ(again->server.max_connections_per_address, 5);
  EXPECT_EQ(again->server.max_connections, 9);
  EXPECT_TRUE(again->server.allow_plaintext);
  EXPECT_EQ(again->server.tls.cert_file, "c.pem");
  EXPECT_EQ(again->server.tls.key_file, "k.pem");
  EXPECT_EQ(again->server.tls.client_ca_file, "ca.pem");
  // A file written before the deadlines keeps loading.
  EXPECT_TRUE(ParseNodeConfig(R"({"node_id":"n1","server":{"read_timeout_seconds":30}})", "f.json")
                  .ok());
  EXPECT_EQ(ParseNodeConfig(R"({"node_id":"n1","server":{"header_timeout_seconds":0}})", "f.json")
                .status()
                .message(),
            "f.json: server.header_timeout_seconds: must be between 1 and 3600, not 0");
  EXPECT_EQ(ParseNodeConfig(R"({"node_id":"n1","server":{"tls":{"cert":"c.pem"}}})", "f.json")
                .status()
                .message(),
            "f.json: server.tls.cert: unknown key");
  EXPECT_EQ(ParseNodeConfig(R"({"node_id":"n1","server":{"allow_plaintext":"yes"}})", "f.json")
                .status()
                .message(),
            "f.json: server.allow_plaintext: expected true or false");
}

TEST(ConfigTest, AConfigNestedTooDeepIsRefusedBeforeItIsParsed) {
  const std::string deep = R"({"node_id":"n1","plugins":)" + std::string(100000, '[') +
                           std::string(100000, ']') + "}";
  auto parsed = ParseNodeConfig(deep, "f.json");
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(),
            "f.json: the file nests arrays/objects deeper than 100 levels (at byte 125)");
}

}  // namespace
}  // namespace fhirsync
