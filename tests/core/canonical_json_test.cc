// The canonical form (RFC 8785's rules) and the content hash built on it.

#include "fhirsync/base/canonical_json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <bit>
#include <cstdint>
#include <string>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

std::string Canonical(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.c_str());
  EXPECT_FALSE(doc.HasParseError()) << json;
  return CanonicalJson(doc);
}

std::string CanonicalDouble(std::uint64_t bits) {
  rapidjson::Value value(std::bit_cast<double>(bits));
  return CanonicalJson(value);
}

// RFC 8785, Appendix B: IEEE 754 doubles and their ECMAScript form.
TEST(CanonicalJsonTest, NumbersInEcmaScriptForm) {
  EXPECT_EQ(CanonicalDouble(0x0000000000000000), "0");
  EXPECT_EQ(CanonicalDouble(0x8000000000000000), "0");
  EXPECT_EQ(CanonicalDouble(0x0000000000000001), "5e-324");
  EXPECT_EQ(CanonicalDouble(0x8000000000000001), "-5e-324");
  EXPECT_EQ(CanonicalDouble(0x7fefffffffffffff), "1.7976931348623157e+308");
  EXPECT_EQ(CanonicalDouble(0x4340000000000000), "9007199254740992");
  EXPECT_EQ(CanonicalDouble(0xc340000000000000), "-9007199254740992");
  EXPECT_EQ(CanonicalDouble(0x4430000000000000), "295147905179352830000");
  EXPECT_EQ(CanonicalDouble(0x44b52d02c7e14af5), "9.999999999999997e+22");
  EXPECT_EQ(CanonicalDouble(0x44b52d02c7e14af6), "1e+23");
  EXPECT_EQ(CanonicalDouble(0x3eb0c6f7a0b5ed8d), "0.000001");
  EXPECT_EQ(CanonicalDouble(0x3eb0c6f7a0b5ed8c), "9.999999999999997e-7");
  EXPECT_EQ(CanonicalDouble(0x41b3de4355555555), "333333333.3333333");
}

TEST(CanonicalJsonTest, OneNumberOneForm) {
  EXPECT_EQ(Canonical("[1, 1.0, 1.00, 1e0, 10E-1, 0.1e1]"), "[1,1,1,1,1,1]");
  EXPECT_EQ(Canonical("[123.456, -0.0, 1E3, 4.50, 1e21, 1e-7, 1e20]"),
            "[123.456,0,1000,4.5,1e+21,1e-7,100000000000000000000]");
  // Integers past 2^53 read as 64-bit integers stay exact.
  EXPECT_EQ(Canonical("[9007199254740993, -9223372036854775808]"),
            "[9007199254740993,-9223372036854775808]");
}

TEST(CanonicalJsonTest, StringsWithOnlyTheEscapesJsonNeeds) {
  EXPECT_EQ(Canonical(R"(["\u0041\/", "\u00e9", "é", "a\"b\\c", "\n\t\b\f\r", "\u001f\u007f"])"),
            "[\"A/\",\"\xC3\xA9\",\"\xC3\xA9\",\"a\\\"b\\\\c\",\"\\n\\t\\b\\f\\r\","
            "\"\\u001f\x7F\"]");
  EXPECT_EQ(Canonical(R"(["\ud83d\ude00", "\u2028"])"),
            "[\"\xF0\x9F\x98\x80\",\"\xE2\x80\xA8\"]");
}

// RFC 8785, section 3.2.3: names sorted by their UTF-16 code units, so the
// emoji (a surrogate pair, D83D DE00) sorts before U+FB33.
TEST(CanonicalJsonTest, MembersSortedByUtf16CodeUnits) {
  const std::string canonical = Canonical(
      R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",)"
      R"("1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"})");
  const char* order[] = {"\"\\r\"", "\"1\"", "\"\xC2\x80\"", "\"\xC3\xB6\"",
                         "\"\xE2\x82\xAC\"", "\"\xF0\x9F\x98\x80\"", "\"\xEF\xAC\xB3\""};
  std::size_t at = 0;
  for (const char* name : order) {
    const std::size_t found = canonical.find(name, at);
    ASSERT_NE(found, std::string::npos) << name << " in " << canonical;
    at = found + 1;
  }
}

TEST(CanonicalJsonTest, NestedObjectsSortedAndSpaceDropped) {
  EXPECT_EQ(Canonical("{ \"b\" : [ { \"z\":1, \"a\" : null } ], \"a\" : { \"y\": true, \"x\": false } }"),
            R"({"a":{"x":false,"y":true},"b":[{"a":null,"z":1}]})");
}

constexpr char kPatient[] =
    R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2024-01-02T03:04:05Z","tag":[{"code":"t"}]},)"
    R"("name":[{"family":"Chalmers","given":["Peter","James"]}],"birthDate":"1974-12-25","multipleBirthInteger":1})";
constexpr char kPatientAsAServerWritesIt[] =
    "{\n  \"resourceType\" : \"Patient\",\n  \"birthDate\": \"1974-12-25\",\n"
    "  \"meta\": {\"source\": \"#a1b2\", \"tag\": [{\"code\": \"t\"}], \"versionId\": \"17\",\n"
    "    \"lastUpdated\": \"2026-12-07T10:00:00.123+00:00\"},\n"
    "  \"multipleBirthInteger\": 1.0,\n  \"id\": \"p1\",\n"
    "  \"name\": [ { \"given\": [\"Peter\", \"James\"], \"family\": \"Chalmers\" } ]\n}";

TEST(FhirContentHashTest, SameContentSameHashWhateverTheSpelling) {
  const std::string a = FhirContentHashOfText(kPatient);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, FhirContentHashOfText(kPatientAsAServerWritesIt));
  EXPECT_EQ(a, ContentHashOf(ResourceFormat::kFhirJson, kPatientAsAServerWritesIt));
}

TEST(FhirContentHashTest, StampsAreLeftOutButTagsAndSecurityAreContent) {
  const std::string with_stamps_only = FhirContentHashOfText(
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2024-01-01T00:00:00Z","source":"x"}})");
  EXPECT_EQ(with_stamps_only, FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1"})"));
  const std::string tagged = FhirContentHashOfText(
      R"({"resourceType":"Patient","id":"p1","meta":{"tag":[{"code":"a"}]}})");
  EXPECT_NE(tagged, with_stamps_only);
  EXPECT_NE(tagged, FhirContentHashOfText(
                        R"({"resourceType":"Patient","id":"p1","meta":{"tag":[{"code":"b"}]}})"));
  EXPECT_NE(with_stamps_only,
            FhirContentHashOfText(
                R"({"resourceType":"Patient","id":"p1","meta":{"security":[{"code":"R"}]}})"));
  // A stamp-like name below the top-level meta is content.
  EXPECT_NE(FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","x":{"source":"a"}})"),
            FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","x":{"source":"b"}})"));
}

TEST(FhirContentHashTest, ADifferentValueIsADifferentHash) {
  EXPECT_NE(FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","gender":"male"})"),
            FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","gender":"female"})"));
  EXPECT_NE(FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","a":[1,2]})"),
            FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","a":[2,1]})"));
  EXPECT_NE(FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","a":"1"})"),
            FhirContentHashOfText(R"({"resourceType":"Patient","id":"p1","a":1})"));
}

// Every path that stores a body (the one-pass preparation, the document
// path) gives the hash that ContentHashOf() gives the stored, stamped body.
TEST(FhirContentHashTest, StoreAndCompareAgree) {
  for (const char* body : {kPatient, kPatientAsAServerWritesIt}) {
    StatusOr<PreparedFhirBody> prepared = PrepareFhirBody(body, "p1", 1 << 20);
    ASSERT_TRUE(prepared.ok()) << prepared.status().message();
    EXPECT_EQ(prepared->unstamped.content_hash, FhirContentHashOfText(kPatient));
    const std::string stored = ApplyStamp(prepared->unstamped, 42, 1700000000000);
    EXPECT_EQ(ContentHashOf(ResourceFormat::kFhirJson, stored), FhirContentHashOfText(kPatient));

    StatusOr<FhirDocument> doc = ParseFhirBody(body, 1 << 20);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(StampFhirBody(*doc, "p1", 7, 0).content_hash, FhirContentHashOfText(kPatient));
  }
}

TEST(FhirContentHashTest, OpenmrsBodiesByTheirCanonicalFormAndOtherBytesAsGiven) {
  EXPECT_EQ(ContentHashOf(ResourceFormat::kOpenmrsRest, R"({"uuid":"u1","display":"A"})"),
            ContentHashOf(ResourceFormat::kOpenmrsRest, R"({ "display" : "A", "uuid":"u1" })"));
  EXPECT_EQ(ContentHashOf(ResourceFormat::kOpenmrsRest, "not json"), Sha256Hex("not json"));
  EXPECT_EQ(FhirContentHashOfText("[1,2"), Sha256Hex("[1,2"));
}

}  // namespace
}  // namespace fhirsync
