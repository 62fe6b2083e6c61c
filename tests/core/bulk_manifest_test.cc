// The snapshot manifest (fhirsync/base/bulk_manifest.h): a Bulk Data
// manifest read and written, with fhirsync's extensions, and what a hostile
// or broken one is refused for.

#include "fhirsync/base/bulk_manifest.h"

#include <gtest/gtest.h>

#include <string>

namespace fhirsync {
namespace {

BulkManifest Example() {
  BulkManifest m;
  m.transaction_time = "2026-12-07T20:00:00.123Z";
  m.request = "https://district.example/fhir/$export?_type=Patient,Observation";
  m.requires_access_token = true;
  m.output.push_back({"Patient", "https://district.example/fhir/$export-file/j1/1", 12,
                      std::string(64, 'a'), 3456});
  m.output.push_back({"Observation", "Observation-1.ndjson", 0, "", -1});
  m.has_fhirsync = true;
  m.fhirsync = {"district", 17, "https://district.example/feed/1", "urn:uuid:0b5f"};
  return m;
}

TEST(BulkManifestTest, WrittenManifestReadsBackTheSame) {
  const BulkManifest m = Example();
  StatusOr<BulkManifest> back = ParseBulkManifest(WriteBulkManifest(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
}

// What another server's $export answers (the spec's own example shape): no
// fhirsync extension, and extra members a reader ignores.
TEST(BulkManifestTest, AnotherServersManifestReadsWithoutTheExtension) {
  StatusOr<BulkManifest> m = ParseBulkManifest(R"({
    "transactionTime": "2021-01-01T00:00:00Z",
    "request": "https://example.com/fhir/$export?_type=Patient",
    "requiresAccessToken": false,
    "output": [{"type": "Patient", "url": "https://example.com/out/p1.ndjson"}],
    "deleted": [], "error": [], "extension": {"other": 1}})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->has_fhirsync);
  ASSERT_EQ(m->output.size(), 1u);
  EXPECT_EQ(m->output[0].count, -1);
  EXPECT_EQ(m->output[0].url, "https://example.com/out/p1.ndjson");
}

TEST(BulkManifestTest, BrokenManifestsAreRefusedNamingTheProblem) {
  const struct {
    std::string text;
    std::string says;
  } cases[] = {
      {"not json", "not JSON"},
      {"[]", "not a JSON object"},
      {R"({"output": []})", "transactionTime"},
      {R"({"transactionTime": "t"})", "no \"output\" array"},
      {R"({"transactionTime": "t", "output": {}})", "\"output\" is not an array"},
      {R"({"transactionTime": "t", "output": [{"url": "u"}]})", "output[0]: no \"type\""},
      {R"({"transactionTime": "t", "output": [{"type": "Patient"}]})", "output[0]: no \"url\""},
      {R"({"transactionTime": "t", "output": [{"type": "../etc", "url": "u"}]})",
       "not a resource type name"},
      {R"({"transactionTime": "t", "output": [{"type": "Patient", "url": "u", "count": -1}]})",
       "\"count\" is not a whole number >= 0"},
      {R"({"transactionTime": "t", "output": [{"type": "Patient", "url": "u",
           "extension": {"sha256": "XYZ"}}]})",
       "64 lowercase hex"},
      {R"({"transactionTime": "t", "output": [], "extension": {"fhirsync": {"watermark_seq": 3}}})",
       "no \"node_id\""},
      {R"({"transactionTime": "t", "output": [],
           "extension": {"fhirsync": {"node_id": "n", "watermark_seq": 3}}})",
       "needs \"atom_page_url\""},
      {std::string(200, '[') + std::string(200, ']'), "deeper than"},
      {"{\"transactionTime\": \"\xff\xfe\", \"output\": []}", "not valid UTF-8"},
  };
  for (const auto& c : cases) {
    StatusOr<BulkManifest> m = ParseBulkManifest(c.text);
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(m.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << m.status();
  }
}

TEST(BulkManifestTest, TooManyFilesOrBytesAreRefused) {
  std::string many = R"({"transactionTime": "t", "output": [)";
  for (std::size_t i = 0; i <= kMaxBulkManifestFiles; ++i) {
    if (i > 0) many += ',';
    many += R"({"type": "Patient", "url": "u"})";
  }
  many += "]}";
  StatusOr<BulkManifest> m = ParseBulkManifest(many);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("more than the limit"), std::string::npos) << m.status();

  StatusOr<BulkManifest> huge = ParseBulkManifest(std::string(kMaxBulkManifestBytes + 1, ' '));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("larger than the limit"), std::string::npos);
}

}  // namespace
}  // namespace fhirsync
