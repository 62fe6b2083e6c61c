// plugins.load[i].options in fhirsync.json.

#include <gtest/gtest.h>

#include "fhirsync/config.h"

namespace fhirsync {
namespace {

TEST(PluginConfigTest, OptionsRoundTrip) {
  auto parsed = ParseNodeConfig(R"({"node_id":"n1","plugins":{"load":[
      {"name":"folder","options":{"dir":"/media/usb","priority":"3"}}]}})",
                                "f.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->plugins.load.size(), 1u);
  EXPECT_EQ(parsed->plugins.load[0].options.at("dir"), "/media/usb");
  EXPECT_EQ(parsed->plugins.load[0].options.at("priority"), "3");
  auto again = ParseNodeConfig(SerializeNodeConfig(*parsed), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->plugins.load[0].options, parsed->plugins.load[0].options);
}

TEST(PluginConfigTest, OptionValuesMustBeStrings) {
  auto parsed = ParseNodeConfig(
      R"({"node_id":"n1","plugins":{"load":[{"name":"folder","options":{"priority":3}}]}})",
      "f.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), "f.json: plugins.load[0].options.priority: expected a string");
  parsed = ParseNodeConfig(
      R"({"node_id":"n1","plugins":{"load":[{"name":"folder","options":["dir"]}]}})", "f.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "f.json: plugins.load[0].options: expected an object");
}

}  // namespace
}  // namespace fhirsync
