// PrepareFhirBody's one pass must give byte for byte what the document path
// (ParseFhirBody, then PrepareFhirBodyForStamp) gives, and the same errors:
// the content hash and the served text depend on it on every node.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/resource.h"

namespace fhirsync {
namespace {

using namespace std::string_literals;

namespace fs = std::filesystem;

constexpr std::size_t kCap = 1 << 20;

StatusOr<PreparedFhirBody> ByDocument(std::string_view body, std::string_view stamp_id,
                                      std::size_t cap = kCap) {
  FHIRSYNC_ASSIGN_OR_RETURN(FhirDocument doc, ParseFhirBody(body, cap));
  PreparedFhirBody out;
  out.unstamped = PrepareFhirBodyForStamp(doc, stamp_id);
  out.resource_type = doc.resource_type;
  out.id = doc.id;
  return out;
}

void ExpectSame(const PreparedFhirBody& got, const PreparedFhirBody& want, const std::string& what) {
  EXPECT_EQ(got.resource_type, want.resource_type) << what;
  EXPECT_EQ(got.id, want.id) << what;
  EXPECT_EQ(got.unstamped.text, want.unstamped.text) << what;
  EXPECT_EQ(got.unstamped.content_hash, want.unstamped.content_hash) << what;
  EXPECT_EQ(got.unstamped.stamp_at, want.unstamped.stamp_at) << what;
  EXPECT_EQ(got.unstamped.into_meta, want.unstamped.into_meta) << what;
}

// Same result or same error, whichever path the body takes.
void ExpectSameAsDocumentPath(std::string_view body, std::string_view stamp_id,
                              std::size_t cap = kCap) {
  const std::string what = "body: " + std::string(body.substr(0, 300));
  StatusOr<PreparedFhirBody> want = ByDocument(body, stamp_id, cap);
  StatusOr<PreparedFhirBody> got = PrepareFhirBody(body, stamp_id, cap);
  ASSERT_EQ(got.ok(), want.ok()) << what;
  if (!want.ok()) {
    EXPECT_EQ(got.status().ToString(), want.status().ToString()) << what;
    return;
  }
  ExpectSame(*got, *want, what);
}

std::vector<std::string> BulkBodies() {
  const fs::path dir = fs::path(FHIRSYNC_TESTDATA_DIR) / "fhir-r4-bulk";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".ndjson") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> bodies;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) bodies.push_back(line);
    }
  }
  return bodies;
}

TEST(PrepareFhirBodyTest, OnePassTakesEveryBulkBodyAndMatchesTheDocumentPath) {
  const std::vector<std::string> bodies = BulkBodies();
  ASSERT_EQ(bodies.size(), 5945u);
  for (const std::string& body : bodies) {
    auto doc = ParseFhirBody(body, kCap);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    const std::string id = doc->id;
    StatusOr<PreparedFhirBody> want = ByDocument(body, id);
    ASSERT_TRUE(want.ok());
    std::optional<PreparedFhirBody> got = PrepareFhirBodyInOnePass(body, id, kCap);
    ASSERT_TRUE(got.has_value()) << body.substr(0, 200);
    ExpectSame(*got, *want, body.substr(0, 200));
    // Stored under another id than the body's (the caller then refuses it,
    // but the text must still be the document path's).
    StatusOr<PreparedFhirBody> renamed = ByDocument(body, "another-id");
    ASSERT_TRUE(renamed.ok());
    std::optional<PreparedFhirBody> got_renamed =
        PrepareFhirBodyInOnePass(body, "another-id", kCap);
    ASSERT_TRUE(got_renamed.has_value());
    ExpectSame(*got_renamed, *renamed, body.substr(0, 200));
  }
}

// Bodies the one pass writes itself: what it copies verbatim and what it
// must write as the writer would.
TEST(PrepareFhirBodyTest, OnePassWritesEscapesNumbersAndSpacingAsTheWriterDoes) {
  const std::vector<std::string> bodies = {
      // Escapes in values and keys, some the writer keeps and some it drops.
      R"({"resourceType":"Patient","id":"p1","name":[{"text":"a \"quoted\" \\ name\/x"}]})",
      R"({"resourceType":"Patient","id":"p1","note":"caf\u00e9 \u20ac \ud83d\ude00 tab\there\nnew"})",
      R"({"resourceType":"Patient","id":"p1","k\u0065y":"v","\n":"\u0001"})",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"text\":\"caf\xc3\xa9 \xe2\x82\xac\"}",
      // Numbers as the writer writes them, not as they came.
      R"({"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.50},"a":[1e2,-0,0.1,3.0,-5,12345678901234567890,-9223372036854775808,4294967296,1.7976931348623157e308,5e-324,0.30000000000000004]})",
      // Spacing outside strings is dropped.
      "{ \"resourceType\" : \"Patient\" ,\n \"id\":\"p1\",\t\"active\" : true , \"x\" : [ null , false , { } , [ ] ] }",
      // id before resourceType, and meta first, last or absent.
      R"({"id":"p1","resourceType":"Patient","active":true})",
      R"({"meta":{"profile":["x"]},"resourceType":"Patient","id":"p1"})",
      R"({"resourceType":"Patient","id":"p1","active":true,"meta":{"source":"s","tag":[{"code":"c"}]}})",
      // Keys named like the special ones, deeper down, are left alone.
      R"({"resourceType":"Bundle","id":"b1","entry":[{"resource":{"resourceType":"Patient","id":"x","meta":{"versionId":"7","lastUpdated":"2020-01-01T00:00:00Z"}}}]})",
      R"({"resourceType":"Patient","id":"p1","meta":{"source":"s","extension":[{"versionId":"1","lastUpdated":"x","meta":{}}]}})",
      R"({"resourceType":"Patient","id":"p1","contained":[{"resourceType":"Organization","id":"o","meta":{}}]})",
      // No id (a create): it goes in right after resourceType, wherever
      // that is, and meta after it moves along.
      R"({"resourceType":"Patient","active":true})",
      R"({"active":true,"resourceType":"Patient","meta":{"source":"s"}})",
      R"({"meta":{"source":"s"},"resourceType":"Patient","name":[{"text":"n\u00e9"}]})",
      R"({"resourceType":"Patient"})",
  };
  for (const std::string& body : bodies) {
    StatusOr<PreparedFhirBody> want = ByDocument(body, "p1");
    ASSERT_TRUE(want.ok()) << body << ": " << want.status().ToString();
    std::optional<PreparedFhirBody> got = PrepareFhirBodyInOnePass(body, "p1", kCap);
    ASSERT_TRUE(got.has_value()) << body;
    ExpectSame(*got, *want, body);
    ExpectSameAsDocumentPath(body, "p1");
  }
}

// Bodies the one pass leaves to the document path, which must give the
// same as it always did.
TEST(PrepareFhirBodyTest, UncommonShapesGoTheDocumentPath) {
  const std::vector<std::string> bodies = {
      // An incoming stamp: removing it moves members.
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"9","lastUpdated":"2020-01-01T00:00:00Z","source":"x"},"active":true})",
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"9","profile":["a"],"source":"x","lastUpdated":"y"},"b":1})",
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"9","lastUpdated":"2020"},"a":1,"b":2,"c":3})",
      R"({"resourceType":"Patient","id":"p1","meta":{},"a":1,"b":2})",
      R"({"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"x"}})",
  };
  for (const std::string& body : bodies) {
    EXPECT_FALSE(PrepareFhirBodyInOnePass(body, "p1", kCap).has_value()) << body;
    ExpectSameAsDocumentPath(body, "p1");
  }
  // Duplicate keys that stamping does not read are kept, by either path.
  for (const char* body :
       {R"({"resourceType":"Patient","id":"p1","gender":"male","gender":"female"})",
        R"({"resourceType":"Patient","id":"p1","meta":{"source":"a","source":"b"}})"}) {
    ExpectSameAsDocumentPath(body, "p1");
  }
}

TEST(PrepareFhirBodyTest, ErrorsAreTheDocumentPathsWords) {
  const std::vector<std::string> bodies = {
      "",
      "[]",
      R"("Patient")",
      R"({"resourceType":"Patient","id":"p1"} trailing)",
      R"({"resourceType":"Patient","id":"p1",})",
      R"({"resourceType":"Patient","id":"p1","name":"unterminated)",
      // Sized by the literal: each holds a NUL byte inside.
      "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\0garbage"s,
      "{\"resourceType\":\"Pat\0ient\",\"id\":\"p1\"}"s,
      R"({"id":"p1"})",
      R"({"resourceType":7,"id":"p1"})",
      R"({"resourceType":"patient","id":"p1"})",
      R"({"resourceType":"","id":"p1"})",
      R"({"resourceType":"Patient","id":7})",
      R"({"resourceType":"Patient","id":{"a":1}})",
      R"({"resourceType":"Patient","id":"bad id!"})",
      R"({"resourceType":"Patient","id":""})",
      R"({"resourceType":"Patient","id":"p1","meta":[]})",
      R"({"resourceType":"Patient","id":"p1","meta":"x"})",
      R"({"resourceType":["Patient"],"id":"p1"})",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"x\":\"\x01\"}",
      // A member stamping reads given twice.
      R"({"resourceType":"Patient","id":"p1","id":"p2"})",
      R"({"resourceType":"Patient","id":"p1","meta":{"source":"a"},"meta":{"source":"b"}})",
      R"({"resourceType":"Patient","resourceType":"Observation","id":"p1"})",
      R"({"resourceType":"Patient","meta":{"versionId":"1","versionId":"2"}})",
      R"({"resourceType":"Patient","meta":{"lastUpdated":"2020","source":"a","lastUpdated":"2021"}})",
      // Not UTF-8: a Latin-1 byte, an overlong '/', a lone low surrogate.
      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"x\":\"Jos\xe9\"}",
      "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"x\":\"\xc0\xaf\"}",
      R"({"resourceType":"Patient","id":"p1","x":"\udc00"})",
  };
  for (const std::string& body : bodies) {
    EXPECT_FALSE(PrepareFhirBodyInOnePass(body, "p1", kCap).has_value()) << body;
    EXPECT_FALSE(PrepareFhirBody(body, "p1", kCap).ok()) << body;
    ExpectSameAsDocumentPath(body, "p1");
  }
  // Over the cap.
  const std::string big = R"({"resourceType":"Patient","id":"p1","text":")" +
                          std::string(200, 'x') + R"("})";
  EXPECT_FALSE(PrepareFhirBodyInOnePass(big, "p1", 100).has_value());
  ExpectSameAsDocumentPath(big, "p1", 100);
  EXPECT_EQ(PrepareFhirBody(big, "p1", 100).status().code(), StatusCode::kResourceExhausted);
}

// Found with fuzz/fhir_prepare_fuzzer's property: a stored body prepared again
// must give the text and content hash it was stored with, or a child that
// pulls it disagrees with its parent about the content. With two metas the
// stamp went after the second and a re-read removed nothing from the first;
// with two versionIds in meta one survived into the stored body.
TEST(PrepareFhirBodyTest, RepeatedStampMembersAreRefusedNamingTheMember) {
  EXPECT_EQ(PrepareFhirBody(R"({"resourceType":"Patient","meta":{"source":"a"},"meta":{}})", "p1",
                            kCap)
                .status()
                .message(),
            "body has more than one 'meta' member");
  EXPECT_EQ(PrepareFhirBody(
                R"({"resourceType":"Patient","meta":{"versionId":"1","versionId":"2"}})", "p1",
                kCap)
                .status()
                .message(),
            "meta has more than one 'versionId' member");
  EXPECT_EQ(InspectFhirBody(R"({"resourceType":"Patient","id":"a","id":"b"})").status().message(),
            "body has more than one 'id' member");
}

TEST(PrepareFhirBodyTest, AStoredBodyPreparesAgainToTheSameTextAndHash) {
  for (const std::string& body : BulkBodies()) {
    auto first = PrepareFhirBody(body, "stamp-1", kCap);
    ASSERT_TRUE(first.ok()) << first.status();
    const std::string stored = ApplyStamp(first->unstamped, 3, "2026-01-02T03:04:05.678Z");
    auto again = PrepareFhirBody(stored, "stamp-1", kCap);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->unstamped.text, first->unstamped.text);
    EXPECT_EQ(again->unstamped.content_hash, first->unstamped.content_hash);
  }
}

}  // namespace
}  // namespace fhirsync

namespace fhirsync {
namespace {

// Found by fuzz/fhir_prepare_fuzzer (UBSan: clz of a zero in RapidJSON's
// DiyFp): the full-precision parse stored "0e140" as 5.696189077778436e-306
// and "0.000e300" as a negative number. Such a zero is refused by both paths.
TEST(PrepareFhirBodyTest, AZeroWithAnExponentIsRefusedNotStoredAsAnotherNumber) {
  for (const char* number : {"0e140", "0.000e300", "-0.0E5", "0e+1"}) {
    const std::string body =
        std::string(R"({"resourceType":"Observation","valueQuantity":{"value":)") + number + "}}";
    auto prepared = PrepareFhirBody(body, "o1", kCap);
    ASSERT_FALSE(prepared.ok()) << number;
    EXPECT_EQ(prepared.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(prepared.status().message().find("is a zero with an exponent"), std::string::npos)
        << prepared.status();
  }
  // Other numbers, and the same text inside a string, are taken as they are.
  auto taken = PrepareFhirBody(
      R"({"resourceType":"Observation","note":[{"text":"0e140"}],"valueQuantity":{"value":1e-3},"x":[0,0.0,10e2,-0]})",
      "o1", kCap);
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_NE(taken->unstamped.text.find("\"0e140\""), std::string::npos);
}

}  // namespace
}  // namespace fhirsync
