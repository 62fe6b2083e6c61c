#include "fhirsync/resource.h"

#include <gtest/gtest.h>

namespace fhirsync {
namespace {

TEST(ValidateIdTest, AcceptsFhirIds) {
  EXPECT_TRUE(ValidateId("abc-123.X").ok());
  EXPECT_TRUE(ValidateId(std::string(64, 'a')).ok());
}

TEST(ValidateIdTest, RejectsWithReason) {
  EXPECT_EQ(ValidateId("").message(), "id is empty");
  Status too_long = ValidateId(std::string(65, 'a'));
  EXPECT_EQ(too_long.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("at most 64"), std::string::npos);
  Status hostile = ValidateId("../../etc/passwd");
  EXPECT_NE(hostile.message().find("position 2"), std::string::npos) << hostile;
  Status control = ValidateId(std::string("a\nb", 3));
  EXPECT_NE(control.message().find("\\x0a"), std::string::npos) << control;
}

TEST(InspectFhirBodyTest, ReadsTypeAndId) {
  auto info = InspectFhirBody(R"({"resourceType":"Patient","id":"p1"})");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->resource_type, "Patient");
  EXPECT_EQ(info->id, "p1");
}

TEST(InspectFhirBodyTest, NamesEachProblem) {
  EXPECT_NE(InspectFhirBody(R"({"resourceType":"Patient",)").status().message().find("not valid JSON"),
            std::string::npos);
  EXPECT_EQ(InspectFhirBody("[1]").status().message(), "body is not a JSON object");
  EXPECT_EQ(InspectFhirBody(R"({"id":"x"})").status().message(), "body has no resourceType");
  EXPECT_EQ(InspectFhirBody(R"({"resourceType":7})").status().message(),
            "resourceType is not a string");
  EXPECT_NE(InspectFhirBody(R"({"resourceType":"patient"})").status().message().find(
                "not a FHIR type name"),
            std::string::npos);
  EXPECT_NE(InspectFhirBody(R"({"resourceType":"Patient","id":"a b"})").status().message().find(
                "FHIR's id rule"),
            std::string::npos);
  EXPECT_EQ(InspectFhirBody(R"({"resourceType":"Patient","id":5})").status().message(),
            "id is not a string");
  StatusOr<ParsedBodyInfo> big = InspectFhirBody(R"({"resourceType":"Patient"})", 10);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(big.status().message().find("over the cap of 10 bytes"), std::string::npos);
}

// The body is parsed in place up to a terminating NUL, so a NUL byte in it
// must be refused first: what follows it would otherwise go unread, and a
// valid object followed by a NUL and garbage would pass.
TEST(InspectFhirBodyTest, RefusesANulByteWherever) {
  const std::string after(R"({"resourceType":"Patient"})" "\0" "garbage", 34);
  StatusOr<ParsedBodyInfo> trailing = InspectFhirBody(after);
  EXPECT_EQ(trailing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(trailing.status().message(), "body is not valid JSON: a NUL byte (at byte 26)");
  const std::string inside(R"({"resourceType":"Pat)" "\0" R"(ient"})", 27);
  EXPECT_EQ(InspectFhirBody(inside).status().message(),
            "body is not valid JSON: a NUL byte (at byte 20)");
  // An escaped NUL is JSON's way to write one, and is kept.
  EXPECT_TRUE(InspectFhirBody(R"({"resourceType":"Patient","text":"a\u0000b"})").ok());
}

TEST(InstantTest, RoundTrips) {
  EXPECT_EQ(FormatInstant(0), "1970-01-01T00:00:00.000Z");
  auto t = ParseInstant("2026-11-22T10:15:30.123Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatInstant(*t), "2026-11-22T10:15:30.123Z");
  EXPECT_EQ(*ParseInstant("2026-11-22T12:15:30.123+02:00"), *t);
  EXPECT_EQ(FormatInstant(*ParseInstant("2026-11-22")), "2026-11-22T00:00:00.000Z");
  EXPECT_EQ(ParseInstant("22/11/2026").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseInstant("2026-13-01").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fhirsync
