// The parent's identity for the pull cursor: its FHIR base from the config,
// what it says of itself, and the id a FHIR server that is not fhirsync is
// followed under (set by hand, else derived from its address).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "fhirsync/config.h"
#include "fhirsync/parent_identity.h"
#include "fhirsync/resource.h"
#include "support/scripted_http_peer.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

NodeConfig ConfigWithFhirPlugin(const std::string& url,
                                std::map<std::string, std::string> options) {
  NodeConfig config;
  config.parent.url = url;
  PluginSpec fhir;
  fhir.name = "fhir";
  fhir.options = std::move(options);
  config.plugins.load = {fhir};
  return config;
}

TEST(ParentFhirBaseTest, FollowsTheFhirPluginsOptions) {
  // A fhirsync node's root: its FHIR base is /fhir below it.
  EXPECT_EQ(ParentFhirBase(ConfigWithFhirPlugin("http://h:8080/", {})), "http://h:8080/fhir");
  // init --feed fhir-history: the URL is the FHIR base itself.
  EXPECT_EQ(ParentFhirBase(ConfigWithFhirPlugin("https://h/fhir/R4/", {{"path", ""}})),
            "https://h/fhir/R4");
  EXPECT_EQ(ParentFhirBase(ConfigWithFhirPlugin("http://h", {{"path", "base"}})),
            "http://h/base");
  EXPECT_EQ(ParentFhirBase(ConfigWithFhirPlugin("http://h", {{"url", "http://other/r4"}})),
            "http://other/r4");
}

TEST(DerivedParentNodeIdTest, IsAValidIdNamingTheAddress) {
  EXPECT_EQ(DerivedParentNodeId("http://127.0.0.1:8080/fhir/R4"), "127.0.0.1-8080-fhir-R4");
  EXPECT_EQ(DerivedParentNodeId("https://fhir.example.org/baseR4/"), "fhir.example.org-baseR4");
  const std::string long_base = "https://h/" + std::string(200, 'a');
  const std::string id = DerivedParentNodeId(long_base);
  EXPECT_LE(id.size(), 64u);
  EXPECT_TRUE(ValidateId(id).ok()) << id;
  // Cut to the same prefix, told apart by the hash of the whole URL.
  EXPECT_NE(id, DerivedParentNodeId(long_base + "b"));
}

TEST(ResolveParentNodeIdTest, ANamedParentMustBeTheOneFollowed) {
  NodeConfig config = ConfigWithFhirPlugin("http://h:1", {});
  bool learnt = false;
  auto first = ResolveParentNodeId(config, "district", &learnt);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "district");
  EXPECT_TRUE(learnt);
  config.parent.node_id = "district";
  auto again = ResolveParentNodeId(config, "district", &learnt);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(learnt);
  auto other = ResolveParentNodeId(config, "impostor", &learnt);
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("is node 'impostor'"));
}

TEST(ResolveParentNodeIdTest, AnAnonymousServerIsFollowedUnderTheIdSetByHandElseADerivedOne) {
  NodeConfig config = ConfigWithFhirPlugin("http://127.0.0.1:9/fhir/R4", {{"path", ""}});
  bool learnt = false;
  auto derived = ResolveParentNodeId(config, "", &learnt);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, "127.0.0.1-9-fhir-R4");
  EXPECT_TRUE(learnt);
  config.parent.node_id = "hospital-fhir";
  auto by_hand = ResolveParentNodeId(config, "", &learnt);
  ASSERT_TRUE(by_hand.ok());
  EXPECT_EQ(*by_hand, "hospital-fhir");
  EXPECT_FALSE(learnt);
}

TEST(FetchParentNodeIdTest, AsksTheFhirBasesMetadataAndReadsTheHeader) {
  testing::ScriptedPeer peer;
  peer.Push(testing::Reply(200, R"({"resourceType":"CapabilityStatement"})",
                           {{"X-Fhirsync-Node-Id", "district"}}));
  peer.Push(testing::Reply(200, R"({"resourceType":"CapabilityStatement"})"));
  ParentEndpoint endpoint;
  endpoint.url = peer.base_url("/fhir/R4");
  endpoint.fhir_base = peer.base_url("/fhir/R4");
  auto named = FetchParentNodeId(endpoint);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(*named, "district");
  auto anonymous = FetchParentNodeId(endpoint);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(*anonymous, "");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].uri, "/fhir/R4/metadata");
}

}  // namespace
}  // namespace fhirsync
