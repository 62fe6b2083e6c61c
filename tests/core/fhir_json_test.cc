// The stamped body that ApplyStamp splices together must be byte for byte
// what serialising the stamped document gives, for every real body: the
// content hash and the served text depend on it on every node.

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/fhir_json.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

// What a second, full serialisation of the stamped document gives.
std::string StampBySerialising(FhirDocument& doc, std::int64_t version, std::int64_t at_ms) {
  auto& alloc = doc.json.GetAllocator();
  auto meta_it = doc.json.FindMember("meta");
  if (meta_it == doc.json.MemberEnd()) {
    doc.json.AddMember("meta", rapidjson::Value(rapidjson::kObjectType), alloc);
    meta_it = doc.json.FindMember("meta");
  }
  const std::string version_text = std::to_string(version);
  const std::string time_text = FormatInstant(at_ms);
  meta_it->value.AddMember("versionId", rapidjson::Value(version_text.c_str(), alloc), alloc);
  meta_it->value.AddMember("lastUpdated", rapidjson::Value(time_text.c_str(), alloc), alloc);
  return WriteJson(doc.json);
}

TEST(FhirJsonTest, SplicedStampEqualsReserialisedBodyForEveryBulkBody) {
  const fs::path dir = fs::path(FHIRSYNC_TESTDATA_DIR) / "fhir-r4-bulk";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".ndjson") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  const std::int64_t at_ms = 1795000000123;  // a time with milliseconds
  std::size_t bodies = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++bodies;
      auto doc = ParseFhirBody(line, 16 << 20);
      ASSERT_TRUE(doc.ok()) << file << ": " << doc.status().ToString();
      const std::string id = doc->id.empty() ? "generated-1" : doc->id;
      UnstampedBody unstamped = PrepareFhirBodyForStamp(*doc, id);
      // The hash is of the canonical form without the stamp.
      ASSERT_EQ(unstamped.content_hash, FhirContentHash(doc->json)) << file;
      const std::int64_t version = static_cast<std::int64_t>(bodies % 1000) + 1;
      const std::string spliced = ApplyStamp(unstamped, version, at_ms);
      ASSERT_EQ(spliced, ApplyStamp(unstamped, version, FormatInstant(at_ms))) << file;
      ASSERT_EQ(spliced, StampBySerialising(*doc, version, at_ms)) << file << " body " << bodies;
      ASSERT_EQ(FhirContentHashOfText(spliced), unstamped.content_hash) << file;
      ASSERT_EQ(FhirContentHashOfText(line), unstamped.content_hash) << file;
    }
  }
  EXPECT_EQ(bodies, 5945u);
}

TEST(FhirJsonTest, SplicedStampReplacesAnIncomingStampAndAddsMissingMeta) {
  auto with_meta = ParseFhirBody(
      R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"9","lastUpdated":"2020-01-01T00:00:00Z","source":"x"},"active":true})",
      1 << 20);
  ASSERT_TRUE(with_meta.ok());
  EXPECT_EQ(ApplyStamp(PrepareFhirBodyForStamp(*with_meta, "p1"), 3, "2026-11-22T01:02:03.004Z"),
            R"({"resourceType":"Patient","id":"p1","meta":{"source":"x","versionId":"3","lastUpdated":"2026-11-22T01:02:03.004Z"},"active":true})");
  auto without_meta = ParseFhirBody(R"({"resourceType":"Patient","active":true})", 1 << 20);
  ASSERT_TRUE(without_meta.ok());
  EXPECT_EQ(ApplyStamp(PrepareFhirBodyForStamp(*without_meta, "p2"), 1, "2026-11-22T01:02:03.004Z"),
            R"({"resourceType":"Patient","id":"p2","active":true,"meta":{"versionId":"1","lastUpdated":"2026-11-22T01:02:03.004Z"}})");
}

}  // namespace
}  // namespace fhirsync
