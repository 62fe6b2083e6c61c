// Unit tests of the three-way JSON merge (framework/src/sync/json_merge.h).

#include "sync/json_merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace fhirsync::sync {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Parses `json` so comparisons ignore member order and spacing.
rapidjson::Document Json(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return doc;
}

void ExpectMerged(const std::string& base, const std::string& local, const std::string& remote,
                  const std::string& expected) {
  StatusOr<JsonMergeResult> result = MergeJson(base, local, remote);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_TRUE(result->clean) << "conflicts: " << ::testing::PrintToString(result->conflicts);
  EXPECT_TRUE(Json(result->merged) == Json(expected)) << "merged: " << result->merged
                                                      << "\nexpected: " << expected;
}

std::vector<std::string> Conflicts(const std::string& base, const std::string& local,
                                   const std::string& remote) {
  StatusOr<JsonMergeResult> result = MergeJson(base, local, remote);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  EXPECT_FALSE(result->clean);
  EXPECT_TRUE(result->merged.empty());
  return result->conflicts;
}

TEST(JsonMergeTest, DifferentFieldsMerge) {
  ExpectMerged(R"({"resourceType":"Patient","id":"p","gender":"male","birthDate":"1970-01-01"})",
               R"({"resourceType":"Patient","id":"p","gender":"female","birthDate":"1970-01-01"})",
               R"({"resourceType":"Patient","id":"p","gender":"male","birthDate":"1971-02-03"})",
               R"({"resourceType":"Patient","id":"p","gender":"female","birthDate":"1971-02-03"})");
}

TEST(JsonMergeTest, SameChangeOnBothSidesIsNoConflict) {
  ExpectMerged(R"({"a":1,"b":2})", R"({"a":5,"b":2})", R"({"a":5,"b":2})", R"({"a":5,"b":2})");
}

TEST(JsonMergeTest, AdditionsAndRemovalsOnEachSide) {
  ExpectMerged(R"({"a":1,"b":2,"c":3})", R"({"a":1,"c":3,"x":true})",
               R"({"a":1,"b":2,"y":[1,2]})", R"({"a":1,"x":true,"y":[1,2]})");
}

TEST(JsonMergeTest, SameFieldChangedDifferentlyConflicts) {
  EXPECT_THAT(Conflicts(R"({"gender":"male","active":true})", R"({"gender":"female","active":true})",
                        R"({"gender":"other","active":false})"),
              ElementsAre("gender"));
}

TEST(JsonMergeTest, RemovedOnOneSideChangedOnTheOtherConflicts) {
  EXPECT_THAT(Conflicts(R"({"a":1,"b":2})", R"({"a":1})", R"({"a":1,"b":3})"), ElementsAre("b"));
}

TEST(JsonMergeTest, AddedOnBothSidesDifferentlyConflicts) {
  EXPECT_THAT(Conflicts(R"({})", R"({"x":"l"})", R"({"x":"r"})"), ElementsAre("x"));
}

TEST(JsonMergeTest, NestedObjectsMergeMemberByMember) {
  ExpectMerged(R"({"maritalStatus":{"text":"single","coding":[{"code":"S"}]}})",
               R"({"maritalStatus":{"text":"Single","coding":[{"code":"S"}]}})",
               R"({"maritalStatus":{"text":"single","coding":[{"code":"M"}]}})",
               R"({"maritalStatus":{"text":"Single","coding":[{"code":"M"}]}})");
  EXPECT_THAT(Conflicts(R"({"o":{"p":{"q":1}}})", R"({"o":{"p":{"q":2}}})",
                        R"({"o":{"p":{"q":3}}})"),
              ElementsAre("o.p.q"));
}

TEST(JsonMergeTest, ArraysWithIdsMatchByIdNotPosition) {
  // Local edits n1's family; remote inserts a new name at the front, which
  // moves n1 to position 1: a positional merge would edit the wrong name.
  ExpectMerged(
      R"({"name":[{"id":"n1","family":"Doe"},{"id":"n2","family":"Roe"}]})",
      R"({"name":[{"id":"n1","family":"Dough"},{"id":"n2","family":"Roe"}]})",
      R"({"name":[{"id":"n0","family":"New"},{"id":"n1","family":"Doe"},{"id":"n2","family":"Roe"}]})",
      R"({"name":[{"id":"n1","family":"Dough"},{"id":"n2","family":"Roe"},{"id":"n0","family":"New"}]})");
}

TEST(JsonMergeTest, ArrayElementRemovedOnOneSideAddedOnOther) {
  ExpectMerged(R"({"telecom":[{"id":"t1","value":"1"},{"id":"t2","value":"2"}]})",
               R"({"telecom":[{"id":"t1","value":"1"}]})",
               R"({"telecom":[{"id":"t1","value":"1"},{"id":"t2","value":"2"},{"id":"t3","value":"3"}]})",
               R"({"telecom":[{"id":"t1","value":"1"},{"id":"t3","value":"3"}]})");
}

TEST(JsonMergeTest, ArraysMatchByIdentifier) {
  ExpectMerged(
      R"({"contained":[{"identifier":{"system":"s","value":"a"},"note":"x"},{"identifier":{"system":"s","value":"b"},"note":"y"}]})",
      R"({"contained":[{"identifier":{"system":"s","value":"a"},"note":"x2"},{"identifier":{"system":"s","value":"b"},"note":"y"}]})",
      R"({"contained":[{"identifier":{"system":"s","value":"b"},"note":"y2"},{"identifier":{"system":"s","value":"a"},"note":"x"}]})",
      R"({"contained":[{"identifier":{"system":"s","value":"a"},"note":"x2"},{"identifier":{"system":"s","value":"b"},"note":"y2"}]})");
}

TEST(JsonMergeTest, SameKeyedElementFieldConflictNamesTheElement) {
  EXPECT_THAT(Conflicts(R"({"name":[{"id":"n1","family":"Doe"}]})",
                        R"({"name":[{"id":"n1","family":"A"}]})",
                        R"({"name":[{"id":"n1","family":"B"}]})"),
              ElementsAre("name[id=n1].family"));
}

TEST(JsonMergeTest, UnkeyedArraysAreValues) {
  // Plain lists: one side's edit wins when the other left it alone...
  ExpectMerged(R"({"given":["A","B"],"x":1})", R"({"given":["A","B"],"x":2})",
               R"({"given":["B","A"],"x":1})", R"({"given":["B","A"],"x":2})");
  // ...and two different edits conflict instead of mixing positions.
  EXPECT_THAT(Conflicts(R"({"given":["A","B"]})", R"({"given":["A","C"]})",
                        R"({"given":["D","B"]})"),
              ElementsAre("given"));
  // A list where only some elements have an id is not matched by key.
  EXPECT_THAT(Conflicts(R"({"l":[{"id":"a"},{"v":1}]})", R"({"l":[{"id":"a"},{"v":2}]})",
                        R"({"l":[{"id":"a","w":0},{"v":1}]})"),
              ElementsAre("l"));
}

TEST(JsonMergeTest, MetaVersionAndTimeAreNotContent) {
  ExpectMerged(
      R"({"resourceType":"Patient","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z"},"a":1})",
      R"({"resourceType":"Patient","meta":{"versionId":"4","lastUpdated":"2026-01-02T00:00:00Z"},"a":2})",
      R"({"resourceType":"Patient","meta":{"versionId":"7","lastUpdated":"2026-01-03T00:00:00Z"},"a":1})",
      R"({"resourceType":"Patient","a":2})");
  // Other meta members are content.
  ExpectMerged(R"({"meta":{"versionId":"1","tag":[{"code":"a"}]}})",
               R"({"meta":{"versionId":"2","tag":[{"code":"a"}]}})",
               R"({"meta":{"versionId":"3","tag":[{"code":"b"}]}})",
               R"({"meta":{"tag":[{"code":"b"}]}})");
}

TEST(JsonMergeTest, SeveralConflictsAreAllReported) {
  EXPECT_THAT(Conflicts(R"({"a":1,"b":1,"c":1})", R"({"a":2,"b":2,"c":1})",
                        R"({"a":3,"b":3,"c":2})"),
              ElementsAre("a", "b"));
}

TEST(JsonMergeTest, TypeChangeConflicts) {
  EXPECT_THAT(Conflicts(R"({"a":{"x":1}})", R"({"a":{"x":2}})", R"({"a":"text"})"),
              ElementsAre("a"));
}

TEST(JsonMergeTest, BadInputNamesTheSide) {
  StatusOr<JsonMergeResult> result = MergeJson("{}", "{\"a\":", "{}");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("local body is not valid JSON"));
  result = MergeJson("{}", "{}", "[1,2]");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("remote body is not a JSON object"));
  result = MergeJson("nope", "{}", "{}");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("base body is not valid JSON"));
}

TEST(JsonMergeTest, MergeIsSymmetricForCleanMerges) {
  const std::string base = R"({"a":1,"l":[{"id":"x","v":1}],"o":{"p":1,"q":1}})";
  const std::string one = R"({"a":2,"l":[{"id":"x","v":1},{"id":"y","v":2}],"o":{"p":2,"q":1}})";
  const std::string two = R"({"a":1,"l":[{"id":"x","v":5}],"o":{"p":1,"q":3},"z":0})";
  StatusOr<JsonMergeResult> ab = MergeJson(base, one, two);
  StatusOr<JsonMergeResult> ba = MergeJson(base, two, one);
  ASSERT_TRUE(ab.ok() && ba.ok());
  ASSERT_TRUE(ab->clean && ba->clean);
  rapidjson::Document a = Json(ab->merged);
  rapidjson::Document b = Json(ba->merged);
  EXPECT_EQ(a["a"].GetInt(), 2);
  EXPECT_EQ(a["o"], b["o"]);
  EXPECT_EQ(a["z"], b["z"]);
  EXPECT_EQ(a["l"].Size(), 2u);
  EXPECT_EQ(a["l"][0]["v"].GetInt(), 5);
}

}  // namespace
}  // namespace fhirsync::sync
