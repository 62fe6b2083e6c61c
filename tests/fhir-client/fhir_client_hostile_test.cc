// FhirClient against a hostile server (an in-process scripted peer on
// 127.0.0.1): answers nested far deeper than any FHIR resource are refused
// with the limit named, before anything recurses over them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/fhir/history_change_reader.h"
#include "support/hostile_json.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhir {
namespace {

using ::fhirsync::testing::DeepResource;
using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

constexpr int kHostileDepth = 100000;

FhirClientOptions Options(const ScriptedPeer& peer) {
  FhirClientOptions options;
  options.base_url = peer.base_url();
  options.io_timeout_ms = 10000;
  return options;
}

std::string BundleOf(const std::string& type, const std::string& entry) {
  return R"({"resourceType":"Bundle","type":")" + type + R"(","entry":[)" + entry + "]}";
}

TEST(FhirClientHostileTest, HistoryPageWithADeepResourceIsRefused) {
  ScriptedPeer peer;
  peer.Push(Reply{200, BundleOf("history", R"({"resource":)" +
                                               DeepResource("Patient", "deep", kHostileDepth) +
                                               R"(,"request":{"method":"PUT","url":"Patient/deep"}})")});
  FhirClient client(Options(peer));
  auto page = client.HistoryPageAt("", "");
  EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(page.status().message(),
              HasSubstr("GET _history: answer nests arrays/objects deeper than 108 levels"));
}

TEST(FhirClientHostileTest, HistoryReaderKeepsItsPositionOnADeepPage) {
  ScriptedPeer peer;
  peer.Push(Reply{200, BundleOf("history", R"({"resource":)" +
                                               DeepResource("Patient", "deep", kHostileDepth) +
                                               "}")});
  FhirClient client(Options(peer));
  HistoryChangeReader reader(&client, {});
  const std::string since = R"({"since":"2026-11-22T10:00:00Z"})";
  ChangePage page = reader.ReadChanges(since, 100);
  EXPECT_EQ(page.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(page.status.message(), HasSubstr("deeper than 108 levels"));
  EXPECT_EQ(page.next_position, since);
  EXPECT_TRUE(page.entries.empty());
}

TEST(FhirClientHostileTest, ReadManyAnswersWithADeepResourceAreRefused) {
  const std::string entry =
      R"({"resource":)" + DeepResource("Patient", "a", kHostileDepth) +
      R"(,"response":{"status":"200 OK"}})";
  for (ReadManyMode mode : {ReadManyMode::kBatch, ReadManyMode::kIdSearch}) {
    ScriptedPeer peer;
    peer.Push(Reply{200, BundleOf(mode == ReadManyMode::kBatch ? "batch-response" : "searchset",
                                  entry)});
    FhirClientOptions options = Options(peer);
    options.read_many_mode = mode;
    FhirClient client(options);
    auto results = client.ReadMany("Patient", {"a"});
    EXPECT_EQ(results.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(results.status().message(), HasSubstr("deeper than 108 levels"));
  }
}

TEST(FhirClientHostileTest, DeepBatchWriteAnswerLeavesEveryWriteAmbiguous) {
  ScriptedPeer peer;
  peer.Push(Reply{200, BundleOf("batch-response",
                                R"({"resource":)" + DeepResource("Patient", "a", kHostileDepth) +
                                    R"(,"response":{"status":"200 OK"}})")});
  FhirClient client(Options(peer));
  BatchWrite write;
  write.type = "Patient";
  write.id = "a";
  write.body = R"({"resourceType":"Patient","id":"a"})";
  BatchWriteOutcome outcome = client.WriteBatch({write});
  ASSERT_EQ(outcome.entries.size(), 1u);
  EXPECT_TRUE(outcome.entries[0].ambiguous);
  EXPECT_THAT(outcome.entries[0].status.message(), HasSubstr("deeper than 108 levels"));
}

TEST(FhirClientHostileTest, DeepReadAndErrorBodiesAreNotWalked) {
  ScriptedPeer peer;
  // A 2xx body without an ETag: the version would come from meta.versionId.
  peer.Push(Reply{200, DeepResource("Patient", "p", kHostileDepth, "7")});
  // An error whose OperationOutcome is hostile.
  peer.Push(Reply{422, R"({"resourceType":"OperationOutcome","issue":)" +
                           ::fhirsync::testing::NestedArrays(kHostileDepth) + "}"});
  FhirClient client(Options(peer));
  FhirResult read = client.Read("Patient", "p");
  EXPECT_TRUE(read.ok()) << read.status;  // the body is the caller's to check
  EXPECT_EQ(read.version_id, "");
  FhirResult refused = client.Update("Patient", "p", R"({"resourceType":"Patient","id":"p"})", "");
  EXPECT_EQ(refused.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.outcome_text, "");
}

}  // namespace
}  // namespace fhirsync::fhir

namespace fhirsync::fhir {
namespace {

// The per-receive timeout never trips on a server that drips its answer; the
// interaction as a whole is cut off at request_deadline_ms, naming the key.
TEST(FhirClientLimitsTest, DrippingAnswerIsCutOffAtTheDeadline) {
  ScriptedPeer peer;
  Reply drip{200, std::string(R"({"resourceType":"Patient","id":"p1","text":")") +
                      std::string(1000, 'x') + "\"}"};
  drip.drip_ms = 50;
  peer.Push(drip);
  FhirClientOptions options = Options(peer);
  options.io_timeout_ms = 5000;
  options.request_deadline_ms = 1000;
  FhirClient client(options);
  const auto start = std::chrono::steady_clock::now();
  FhirResult read = client.Read("Patient", "p1");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(read.status.code(), StatusCode::kDeadlineExceeded) << read.status;
  EXPECT_THAT(read.status.message(),
              HasSubstr("GET Patient/p1: timeout: no complete answer within the deadline of 1 s "
                        "(parent.request_deadline_seconds)"));
  EXPECT_FALSE(read.ambiguous);  // a read
  EXPECT_LT(took, std::chrono::seconds(4));
}

TEST(FhirClientLimitsTest, DrippedWriteAnswerIsAmbiguous) {
  ScriptedPeer peer;
  Reply drip{201, R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"}})"};
  drip.drip_ms = 200;
  peer.Push(drip);
  FhirClientOptions options = Options(peer);
  options.request_deadline_ms = 1000;
  FhirClient client(options);
  FhirResult put = client.CreateAt("Patient", "p1", R"({"resourceType":"Patient","id":"p1"})");
  EXPECT_EQ(put.status.code(), StatusCode::kDeadlineExceeded) << put.status;
  EXPECT_TRUE(put.ambiguous);
}

TEST(FhirClientLimitsTest, AnswerOverTheCapIsRefusedNamingTheKey) {
  ScriptedPeer peer;
  peer.Push(Reply{200, std::string(R"({"resourceType":"Patient","id":"p1","text":")") +
                           std::string(8192, 'x') + "\"}"});
  FhirClientOptions options = Options(peer);
  options.max_response_bytes = 4096;
  FhirClient client(options);
  FhirResult read = client.Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kResourceExhausted) << read.status;
  EXPECT_THAT(read.status.message(),
              HasSubstr("larger than the limit of 4096 bytes (parent.max_answer_bytes)"));
}

}  // namespace
}  // namespace fhirsync::fhir
