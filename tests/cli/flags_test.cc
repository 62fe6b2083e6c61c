#include "flags.h"

#include <gtest/gtest.h>

#include "command.h"
#include "progress.h"

namespace fhirsync::cli {
namespace {

struct Fixture {
  FlagParser parser;
  std::string dir = ".";
  std::int64_t limit = 10;
  bool json = false;
  Fixture() {
    parser.AddString("dir", "D", &dir);
    parser.AddInt("limit", "N", &limit, 1, 100);
    parser.AddBool("json", &json);
  }
};

TEST(FlagParserTest, ParsesBothValueFormsBooleansAndPositionals) {
  Fixture f;
  ASSERT_TRUE(f.parser.Parse({"a", "--dir", "x", "--limit=7", "--json", "-", "b"}).ok());
  EXPECT_EQ(f.dir, "x");
  EXPECT_EQ(f.limit, 7);
  EXPECT_TRUE(f.json);
  EXPECT_EQ(f.parser.positional(), (std::vector<std::string>{"a", "-", "b"}));
  EXPECT_TRUE(f.parser.Seen("limit"));
  EXPECT_FALSE(Fixture().parser.Seen("limit"));
}

TEST(FlagParserTest, DoubleDashEndsFlags) {
  Fixture f;
  ASSERT_TRUE(f.parser.Parse({"--", "--json"}).ok());
  EXPECT_FALSE(f.json);
  EXPECT_EQ(f.parser.positional(), (std::vector<std::string>{"--json"}));
}

TEST(FlagParserTest, UnknownFlagIsNamed) {
  Fixture f;
  Status s = f.parser.Parse({"--colour", "red"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown flag --colour");
  s = f.parser.Parse({"-x"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown flag -x"), std::string::npos) << s;
}

TEST(FlagParserTest, MissingValueIsNamed) {
  Fixture f;
  Status s = f.parser.Parse({"--dir"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--dir needs a value (--dir D)");
  // A following flag is not taken as the value.
  s = f.parser.Parse({"--dir", "--json"});
  EXPECT_EQ(s.message(), "--dir needs a value (--dir D)");
}

TEST(FlagParserTest, BadIntegersAreNamed) {
  Fixture f;
  Status s = f.parser.Parse({"--limit", "ten"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--limit: expected an integer, got 'ten'");
  s = f.parser.Parse({"--limit", "5x"});
  EXPECT_EQ(s.message(), "--limit: expected an integer, got '5x'");
  s = f.parser.Parse({"--limit=500"});
  EXPECT_EQ(s.message(), "--limit: must be between 1 and 100, got 500");
}

TEST(FlagParserTest, BooleanRejectsOtherValues) {
  Fixture f;
  Status s = f.parser.Parse({"--json=yes"});
  EXPECT_EQ(s.message(), "--json: expected true or false, got 'yes'");
  ASSERT_TRUE(f.parser.Parse({"--json=false"}).ok());
  EXPECT_FALSE(f.json);
}

TEST(ResourceKeyTest, SplitsTypeAndId) {
  StatusOr<ResourceKey> key = ParseResourceKey("Patient/p-1");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->type, "Patient");
  EXPECT_EQ(key->id, "p-1");
  for (const char* bad : {"Patient", "Patient/", "/1", "Patient/1/2", ""}) {
    StatusOr<ResourceKey> k = ParseResourceKey(bad);
    ASSERT_FALSE(k.ok()) << bad;
    EXPECT_NE(k.status().message().find("expected TYPE/ID"), std::string::npos);
  }
}

TEST(ProgressMeterTest, FormatsCountRateAndEta) {
  EXPECT_EQ(ProgressMeter::Format(0, 100, 0.0), "0/100 (0%)");
  EXPECT_EQ(ProgressMeter::Format(50, 100, 1.0), "50/100 (50%)  50/s  ETA 1s");
  EXPECT_EQ(ProgressMeter::Format(100, 1000, 10.0), "100/1000 (10%)  10/s  ETA 1m30s");
  EXPECT_EQ(ProgressMeter::Format(7, 0, 1.0), "7  7/s");
}

}  // namespace
}  // namespace fhirsync::cli
