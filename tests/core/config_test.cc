#include "fhirsync/config.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(msg(R"({"node_id":"n1","store":{"backend":"mysql"}})"),
            "f.json: store.backend: unknown backend 'mysql' (sqlite or postgresql)");
  EXPECT_EQ(msg(R"({"node_id":"n1","server":{"users":[{"name":"a","roles":["root"]}]}})"),
            "f.json: server.users[0].roles: unknown role 'root' (read, write, admin)");
  EXPECT_EQ(msg(R"({"store":{}})"), "f.json: node_id: required");
  EXPECT_NE(msg(R"({"node_id":"n1",)").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(msg(R"({"node_id":"bad id"})").substr(0, 16), "f.json: node_id:");
}

}  // namespace
}  // namespace fhirsync
