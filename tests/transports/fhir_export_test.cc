// The fhir plugin's `export` operation (ABI 1.2) against a scripted Bulk
// Data server: declared only with a change feed, the manifest handed back
// with the position after the watermark in the plugin's own feed format,
// files streamed plain.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fhir_transport.h"
#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhirplugin {
namespace {

using ::fhirsync::testing::RecordedRequest;
using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

const std::string kFile = R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"2"}})"
                          "\n";

// Answers kick-off, status (the manifest at once) and the one file.
void ServeExport(ScriptedPeer& peer, bool fhirsync_extension) {
  peer.Route([&peer, fhirsync_extension](const RecordedRequest& r) {
    const std::string base = peer.base_url();
    if (r.uri.rfind("/fhir/$export?", 0) == 0 || r.uri == "/fhir/$export") {
      return Reply(202, "", {{"Content-Location", base + "/$export-status/7"}});
    }
    if (r.uri == "/fhir/$export-status/7") {
      BulkManifest m;
      m.transaction_time = "2026-12-07T20:00:00.123Z";
      m.request = base + "/$export";
      m.output.push_back({"Patient", base + "/$export-file/7/1", 1, Sha256Hex(kFile),
                          static_cast<std::int64_t>(kFile.size())});
      if (fhirsync_extension) {
        m.has_fhirsync = true;
        m.fhirsync = {"district", 12, peer.base_url("") + "/feed/3", "urn:uuid:entry-12"};
      }
      return Reply(200, WriteBulkManifest(m));
    }
    if (r.uri == "/fhir/$export-file/7/1") {
      Reply file(200, kFile);
      file.gzip = true;
      return file;
    }
    return Reply(404, "");
  });
}

TransportSettings Settings(const ScriptedPeer& peer, const std::string& feed) {
  TransportSettings settings;
  settings.base_url = peer.base_url("");
  settings.options["timeout_ms"] = "5000";
  settings.options["capability_statement"] = "ignore";
  if (!feed.empty()) settings.options["feed"] = feed;
  return settings;
}

bool DeclaresExport(const FhirTransport& transport) {
  const auto ops = transport.GetCapabilities().operations;
  return std::find(ops.begin(), ops.end(), TransportOperation::kExport) != ops.end();
}

TEST(FhirExportTest, DeclaredOnlyWithAChangeFeed) {
  ScriptedPeer peer;
  FhirTransport without;
  ASSERT_TRUE(without.Configure(Settings(peer, "")).ok());
  EXPECT_FALSE(DeclaresExport(without));
  EXPECT_EQ(without.StartExport({}, "").status.code(), StatusCode::kUnimplemented);
  for (const char* feed : {"atom", "fhir-history"}) {
    FhirTransport with;
    ASSERT_TRUE(with.Configure(Settings(peer, feed)).ok());
    EXPECT_TRUE(DeclaresExport(with)) << feed;
  }
}

TEST(FhirExportTest, AtomPlacesTheSnapshotAtTheManifestsWatermark) {
  ScriptedPeer peer;
  ServeExport(peer, true);
  FhirTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer, "atom")).ok());
  ExportResult exported = transport.StartExport({"Patient"}, "");
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  EXPECT_EQ(exported.job, peer.base_url() + "/$export-status/7");
  EXPECT_THAT(exported.feed_position, HasSubstr("/feed/3"));
  EXPECT_THAT(exported.feed_position, HasSubstr("urn:uuid:entry-12"));
  auto manifest = ParseBulkManifest(exported.manifest);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  std::string got;
  CallOutcome read = transport.ReadExportFile(manifest->output[0].url, 0, [&](std::string_view c) {
    got.append(c);
    return true;
  });
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_EQ(got, kFile);
  // The reader stops: kCancelled.
  CallOutcome stopped =
      transport.ReadExportFile(manifest->output[0].url, 0, [](std::string_view) { return false; });
  EXPECT_EQ(stopped.status.code(), StatusCode::kCancelled);
}

TEST(FhirExportTest, AnotherServersExportCannotBePlacedInTheAtomFeed) {
  ScriptedPeer peer;
  ServeExport(peer, false);
  FhirTransport atom;
  ASSERT_TRUE(atom.Configure(Settings(peer, "atom")).ok());
  ExportResult exported = atom.StartExport({}, "");
  ASSERT_TRUE(exported.status.ok()) << exported.status;
  EXPECT_TRUE(exported.feed_position.empty());
  // _history continues from the export's transactionTime.
  FhirTransport history;
  ASSERT_TRUE(history.Configure(Settings(peer, "fhir-history")).ok());
  ExportResult since = history.StartExport({}, "");
  ASSERT_TRUE(since.status.ok()) << since.status;
  EXPECT_EQ(since.feed_position, R"({"since":"2026-12-07T20:00:00.123Z"})");
}

}  // namespace
}  // namespace fhirsync::fhirplugin
