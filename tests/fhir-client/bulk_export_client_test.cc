// fhir::BulkExportClient against a scripted Bulk Data server on 127.0.0.1:
// kick-off, status polling to the manifest, files gzip-encoded and resumed
// with Range, a job that is gone, the deadline, and refusals.

#include "fhirsync/fhir/bulk_export_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "fhirsync/base/text_util.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhir {
namespace {

using ::testing::HasSubstr;
using testing::Reply;
using testing::ScriptedPeer;

std::string Ndjson(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    text += R"({"resourceType":"Patient","id":"p)" + std::to_string(i) +
            R"(","meta":{"versionId":"1"}})" + "\n";
  }
  return text;
}

// A Bulk Data server: answers 202 to the first `pending` status polls.
class BulkServer {
 public:
  explicit BulkServer(int pending, bool honour_range = true) {
    file_ = Ndjson(500);
    peer_.Route([this, pending, honour_range](const testing::RecordedRequest& r) {
      const std::string base = peer_.base_url();
      if (r.uri.rfind("/fhir/$export?", 0) == 0 || r.uri == "/fhir/$export") {
        ++kickoffs_;
        return Reply(202, "", {{"Content-Location", base + "/$export-status/job" +
                                                        std::to_string(kickoffs_.load())}});
      }
      if (r.uri.rfind("/fhir/$export-status/job", 0) == 0) {
        if (polls_++ < pending) return Reply(202, "", {{"Retry-After", "0"}, {"X-Progress", "half"}});
        BulkManifest m;
        m.transaction_time = "2026-12-07T20:00:00Z";
        m.request = base + "/$export";
        m.output.push_back({"Patient", base + "/$export-file/job1/1", 500, Sha256Hex(file_),
                            static_cast<std::int64_t>(file_.size())});
        return Reply(200, WriteBulkManifest(m));
      }
      if (r.uri == "/fhir/$export-file/job1/1") {
        auto range = r.headers.find("Range");
        if (range != r.headers.end() && honour_range) {
          const std::size_t from = std::stoul(range->second.substr(6));
          return Reply(206, file_.substr(from),
                       {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                              std::to_string(file_.size() - 1) + "/" +
                                              std::to_string(file_.size())}});
        }
        Reply whole(200, file_);
        whole.gzip = true;
        return whole;
      }
      return Reply(404, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                        R"("code":"not-found","diagnostics":"no such job"}]})");
    });
  }
  BulkExportOptions Options() const {
    BulkExportOptions options;
    options.client.base_url = peer_.base_url();
    options.export_deadline_ms = 20000;
    return options;
  }
  ScriptedPeer peer_;
  std::string file_;
  std::atomic<int> kickoffs_{0};
  std::atomic<int> polls_{0};
};

TEST(BulkExportClientTest, KicksOffPollsToTheManifestAndDownloadsGzipped) {
  BulkServer server(2);
  BulkExportClient client(server.Options());
  BulkExportJob job = client.Start({"Patient", "Observation"}, "");
  ASSERT_TRUE(job.status.ok()) << job.status;
  EXPECT_EQ(job.status_url, server.peer_.base_url() + "/$export-status/job1");
  ASSERT_EQ(job.manifest.output.size(), 1u);
  EXPECT_EQ(server.polls_.load(), 3);
  auto requests = server.peer_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].uri, "/fhir/$export?_type=Patient,Observation");
  EXPECT_EQ(requests[0].headers["Prefer"], "respond-async");

  std::string got;
  BulkFileRead read = client.ReadFile(job.manifest.output[0].url, 0, [&](std::string_view c) {
    got.append(c);
    return true;
  });
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_EQ(got, server.file_);
  EXPECT_EQ(read.bytes, static_cast<std::int64_t>(server.file_.size()));
  EXPECT_THAT(server.peer_.requests().back().headers["Accept-Encoding"], HasSubstr("gzip"));
}

TEST(BulkExportClientTest, AResumedDownloadAsksForTheRestWithRange) {
  for (bool honour : {true, false}) {
    BulkServer server(0, honour);
    BulkExportClient client(server.Options());
    BulkExportJob job = client.Start({}, "");
    ASSERT_TRUE(job.status.ok()) << job.status;
    const std::int64_t from = 1234;
    std::string got;
    BulkFileRead read = client.ReadFile(job.manifest.output[0].url, from, [&](std::string_view c) {
      got.append(c);
      return true;
    });
    ASSERT_TRUE(read.status.ok()) << read.status;
    // Whether the server sent 206 or ignored Range: the bytes from `from`.
    EXPECT_EQ(got, server.file_.substr(from)) << "honour_range " << honour;
    EXPECT_EQ(read.http_status, honour ? 206 : 200);
    EXPECT_EQ(server.peer_.requests().back().headers["Range"], "bytes=1234-");
  }
}

TEST(BulkExportClientTest, AJobTheServerForgotIsStartedAgain) {
  BulkServer server(0);
  BulkExportClient client(server.Options());
  BulkExportJob job = client.Start({}, server.peer_.base_url() + "/$export-status/old");
  ASSERT_TRUE(job.status.ok()) << job.status;
  EXPECT_EQ(server.kickoffs_.load(), 1);
  EXPECT_EQ(job.status_url, server.peer_.base_url() + "/$export-status/job1");
  // A job it still has is asked again, not started anew.
  BulkExportJob again = client.Start({}, job.status_url);
  ASSERT_TRUE(again.status.ok()) << again.status;
  EXPECT_EQ(server.kickoffs_.load(), 1);
}

TEST(BulkExportClientTest, AJobNotReadyInTimeIsDeadlineExceededAndKept) {
  BulkServer server(1000000);
  BulkExportOptions options = server.Options();
  options.export_deadline_ms = 300;
  BulkExportClient client(options);
  BulkExportJob job = client.Start({}, "");
  EXPECT_EQ(job.status.code(), StatusCode::kDeadlineExceeded) << job.status;
  EXPECT_THAT(job.status.message(), HasSubstr("not ready within"));
  EXPECT_THAT(job.status.message(), HasSubstr("half"));
  EXPECT_FALSE(job.status_url.empty());
}

TEST(BulkExportClientTest, RefusalsNameTheProblem) {
  ScriptedPeer peer;
  BulkExportOptions options;
  options.client.base_url = peer.base_url();
  BulkExportClient client(options);
  peer.Push(Reply(403, R"({"resourceType":"OperationOutcome","issue":[{"severity":"error",)"
                       R"("code":"forbidden","diagnostics":"export is for admins"}]})"));
  BulkExportJob refused = client.Start({}, "");
  EXPECT_EQ(refused.status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status.message(), HasSubstr("export is for admins"));

  peer.Push(Reply(202, ""));
  BulkExportJob no_location = client.Start({}, "");
  EXPECT_EQ(no_location.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_location.status.message(), HasSubstr("without Content-Location"));

  peer.Push(Reply(202, "", {{"Content-Location", "http://elsewhere.example/status/1"}}));
  BulkExportJob elsewhere = client.Start({}, "");
  EXPECT_EQ(elsewhere.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(elsewhere.status.message(), HasSubstr("not on the server"));

  peer.Push(Reply(202, "", {{"Content-Location", peer.base_url() + "/$export-status/x"}}));
  peer.Push(Reply(200, R"({"output":[]})"));
  BulkExportJob bad_manifest = client.Start({}, "");
  EXPECT_EQ(bad_manifest.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_manifest.status.message(), HasSubstr("manifest"));
}

}  // namespace
}  // namespace fhirsync::fhir
