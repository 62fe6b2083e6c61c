// The shared depth guard, and the readers of stored bodies that rely on it:
// a body nested 100,000 levels deep is refused with the limit named, never
// a stack overflow.

#include "fhirsync/base/json_depth.h"

#include <gtest/gtest.h>

#include <string>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/resource.h"
#include "support/hostile_json.h"
#include "sync/json_merge.h"

namespace fhirsync {
namespace {

using ::fhirsync::testing::DeepResource;
using ::fhirsync::testing::NestedArrays;

TEST(JsonDepthTest, CountsNestingOutsideStrings) {
  EXPECT_TRUE(CheckJsonDepth(R"({"a":[{"b":"[[[[[[["}]})", 3).ok());
  EXPECT_TRUE(CheckJsonDepth(R"({"a":"\"[[[["})", 1).ok());
  Status deep = CheckJsonDepth("[[[[1]]]]", 3);
  EXPECT_EQ(deep.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.message(), "body nests arrays/objects deeper than 3 levels (at byte 3)");
  Status answer = CheckJsonDepth(NestedArrays(100000), kMaxJsonAnswerDepth, "answer");
  EXPECT_EQ(answer.message(), "answer nests arrays/objects deeper than 108 levels (at byte 108)");
}

TEST(JsonDepthTest, TheLimitItselfIsAllowed) {
  EXPECT_TRUE(CheckJsonDepth(NestedArrays(kMaxJsonDepth)).ok());
  EXPECT_FALSE(CheckJsonDepth(NestedArrays(kMaxJsonDepth + 1)).ok());
  // A resource the server may store still fits inside a Bundle's entry.
  const std::string bundle = R"({"resourceType":"Bundle","entry":[{"resource":)" +
                             DeepResource("Patient", "p", kMaxJsonDepth) + "}]}";
  EXPECT_TRUE(CheckJsonDepth(bundle, kMaxJsonAnswerDepth).ok());
}

TEST(JsonDepthTest, StoredBodyReadersRefuseAHundredThousandLevels) {
  const std::string deep = DeepResource("Patient", "deep", 100000);
  for (auto status : {ParseFhirBody(deep, 64 << 20).status(),
                      InspectFhirBody(deep, 64 << 20).status(),
                      PrepareFhirBody(deep, "deep", 64 << 20).status()}) {
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("deeper than 100 levels"), std::string::npos) << status;
  }
  EXPECT_FALSE(PrepareFhirBodyInOnePass(deep, "deep", 64 << 20).has_value());
}

TEST(JsonDepthTest, StoredBodyAtTheLimitIsTakenByBothPaths) {
  const std::string body = DeepResource("Patient", "p", kMaxJsonDepth);
  auto doc = ParseFhirBody(body, 1 << 20);
  ASSERT_TRUE(doc.ok()) << doc.status();
  auto prepared = PrepareFhirBody(body, "p", 1 << 20);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_FALSE(ParseFhirBody(DeepResource("Patient", "p", kMaxJsonDepth + 1), 1 << 20).ok());
  // Without an incoming stamp, which the one pass leaves to the document path.
  auto unstamped = [](int depth) {
    return R"({"resourceType":"Patient","id":"p","extension":)" + NestedArrays(depth - 1) + "}";
  };
  EXPECT_TRUE(PrepareFhirBodyInOnePass(unstamped(kMaxJsonDepth), "p", 1 << 20).has_value());
  EXPECT_FALSE(PrepareFhirBodyInOnePass(unstamped(kMaxJsonDepth + 1), "p", 1 << 20).has_value());
}

TEST(JsonDepthTest, MergeRefusesADeepServerCopyNamingTheLimit) {
  const std::string base = R"({"resourceType":"Patient","id":"p","gender":"male"})";
  const std::string local = R"({"resourceType":"Patient","id":"p","gender":"female"})";
  auto merged = sync::MergeJson(base, local, DeepResource("Patient", "p", 100000));
  EXPECT_EQ(merged.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(merged.status().message().find("remote body nests arrays/objects deeper than 108"),
            std::string::npos)
      << merged.status();
}

}  // namespace
}  // namespace fhirsync
