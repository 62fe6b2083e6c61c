// FhirTransport::WriteMany against ScriptedPeer: one batch Bundle per call
// where the CapabilityStatement lists `batch`, one request per write where it
// does not (or the option says so, or the server refuses the Bundle), each
// write's result judged as the push service judges a single write's.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhir_transport.h"
#include "fhirsync/sync_push_service.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhirplugin {
namespace {

using ::fhirsync::testing::RecordedRequest;
using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

// A fhirsync server's (creates keep If-None-Match: *, in a Bundle too).
std::string Capabilities(const std::string& system_interaction) {
  return R"({"resourceType":"CapabilityStatement","software":{"name":"fhirsync"},
    "rest":[{"mode":"server",
    "resource":[{"type":"Patient","interaction":[{"code":"read"},{"code":"update"}]}],
    "interaction":[{"code":")" +
         system_interaction + R"("}]}]})";
}

std::string Outcome(const std::string& code, const std::string& diagnostics) {
  return R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":")" + code +
         R"(","diagnostics":")" + diagnostics + R"("}]})";
}

TransportSettings Settings(const ScriptedPeer& peer) {
  TransportSettings settings;
  settings.base_url = peer.base_url("");
  settings.options["timeout_ms"] = "5000";
  return settings;
}

WriteRequest Write(TransportOperation operation, const std::string& id,
                   const std::string& expected_version = "") {
  WriteRequest request;
  request.operation = operation;
  request.resource.type = "Patient";
  request.resource.id = id;
  if (operation != TransportOperation::kDelete) {
    request.resource.body = R"({"resourceType":"Patient","id":")" + id + R"("})";
  }
  request.expected_version = expected_version;
  return request;
}

// `transport` configured against `peer`, whose CapabilityStatement lists
// the system interaction `system_interaction`.
void ConfigureAgainst(FhirTransport& transport, ScriptedPeer& peer,
                      const std::string& system_interaction = "batch") {
  peer.Push(Reply{200, Capabilities(system_interaction)});
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
}

std::vector<RecordedRequest> Posts(const ScriptedPeer& peer) {
  std::vector<RecordedRequest> posts;
  for (const RecordedRequest& request : peer.requests()) {
    if (request.method == "POST") posts.push_back(request);
  }
  return posts;
}

TEST(FhirWriteManyTest, OneBatchBundleWithEachWriteJudgedOnItsOwn) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureAgainst(transport, peer);
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"response":{"status":"201 Created","location":"Patient/a/_history/1","etag":"W/\"1\""}},
    {"response":{"status":"412 Precondition Failed","outcome":)" +
                           Outcome("conflict", "version conflict: expected 2 but is 3") + R"(}},
    {"response":{"status":"422 Unprocessable Entity","outcome":)" +
                           Outcome("business-rule", "Negative stock") + R"(}},
    {"response":{"status":"200 OK","etag":"W/\"9\""}},
    {"response":{"status":"204 No Content","etag":"W/\"4\""}}]})"});
  std::vector<RemoteWriteResult> results = transport.WriteMany(
      {Write(TransportOperation::kCreate, "a"), Write(TransportOperation::kUpdate, "b", "2"),
       Write(TransportOperation::kUpdate, "c", "5"), Write(TransportOperation::kUpdate, "d", "8"),
       Write(TransportOperation::kDelete, "e", "3")});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(results[0].status, results[0].http_status)), "accepted");
  EXPECT_EQ(results[0].version, "1");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(results[1].status, results[1].http_status)), "conflict");
  EXPECT_EQ(results[1].http_status, 412);
  EXPECT_THAT(results[1].operation_outcome, HasSubstr("expected 2 but is 3"));
  EXPECT_EQ(results[1].version, "");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(results[2].status, results[2].http_status)), "business-rule");
  EXPECT_THAT(results[2].operation_outcome, HasSubstr("Negative stock"));
  EXPECT_THAT(results[2].status.message(),
              HasSubstr("PUT Patient/c (batch entry 3 of 5): HTTP 422"));
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(results[3].status, results[3].http_status)), "accepted");
  EXPECT_EQ(results[3].version, "9");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(results[4].status, results[4].http_status)), "accepted");
  EXPECT_EQ(results[4].version, "4");
  for (const RemoteWriteResult& result : results) EXPECT_FALSE(result.ambiguous);
  auto posts = Posts(peer);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].uri, "/fhir");
  EXPECT_THAT(posts[0].body, HasSubstr(R"("type":"batch")"));
  EXPECT_THAT(posts[0].body, HasSubstr(R"("url":"Patient/b","ifMatch":"W/\"2\"")"));
  // The create may only create; the updates and the delete carry no such
  // precondition.
  EXPECT_THAT(posts[0].body, HasSubstr(R"("method":"PUT","url":"Patient/a","ifNoneMatch":"*"})"));
  EXPECT_EQ(posts[0].body.find("ifNoneMatch"), posts[0].body.rfind("ifNoneMatch"));
  EXPECT_EQ(peer.requests().size(), 2u);  // metadata and the one Bundle
}

TEST(FhirWriteManyTest, WithoutBatchInTheCapabilityStatementEachWriteIsItsOwnRequest) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureAgainst(transport, peer, "transaction");
  peer.Push(Reply{201, "", {{"ETag", "W/\"1\""}}});
  peer.Push(Reply{200, "", {{"ETag", "W/\"3\""}}});
  std::vector<RemoteWriteResult> results = transport.WriteMany(
      {Write(TransportOperation::kCreate, "a"), Write(TransportOperation::kUpdate, "b", "2")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].version, "1");
  EXPECT_EQ(results[1].version, "3");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[2].uri, "/fhir/Patient/b");
  EXPECT_EQ(requests[2].headers["If-Match"], "W/\"2\"");
  EXPECT_TRUE(Posts(peer).empty());
}

TEST(FhirWriteManyTest, AStatementUnreadableAtConfigureIsAskedAtTheFirstWriteMany) {
  ScriptedPeer peer;
  peer.Push(Reply{503, Outcome("transient", "starting")});
  FhirTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());  // a child starts offline
  peer.Push(Reply{200, Capabilities("batch")});
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"response":{"status":"200 OK","etag":"W/\"3\""}},{"response":{"status":"200 OK","etag":"W/\"4\""}}]})"});
  std::vector<RemoteWriteResult> results = transport.WriteMany(
      {Write(TransportOperation::kUpdate, "a", "2"), Write(TransportOperation::kUpdate, "b", "3")});
  EXPECT_EQ(results[1].version, "4");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].uri, "/fhir/metadata");
  EXPECT_EQ(requests[2].method, "POST");
}

// A server that is not fhirsync takes batch Bundles, but a create must be
// read first, which no Bundle entry can do: a round with creates goes one
// write at a time, and no create carries If-None-Match.
TEST(FhirWriteManyTest, CreatesToAServerThatIsNotFhirsyncAreReadFirstOneByOne) {
  ScriptedPeer peer;
  peer.Push(Reply{200, R"({"resourceType":"CapabilityStatement","software":{"name":"other"},
    "rest":[{"mode":"server","resource":[{"type":"Patient","updateCreate":true,
    "interaction":[{"code":"read"},{"code":"update"}]}],"interaction":[{"code":"batch"}]}]})"});
  FhirTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  peer.Push(Reply{404, Outcome("not-found", "no Patient/a")});
  peer.Push(Reply{201, "", {{"ETag", "W/\"1\""}}});
  peer.Push(Reply{200, "", {{"ETag", "W/\"3\""}}});
  std::vector<RemoteWriteResult> results = transport.WriteMany(
      {Write(TransportOperation::kCreate, "a"), Write(TransportOperation::kUpdate, "b", "2")});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(results[1].version, "3");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_TRUE(Posts(peer).empty());
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(requests[2].headers.count("If-None-Match"), 0u);
  EXPECT_EQ(requests[3].headers["If-Match"], "W/\"2\"");
}

TEST(FhirWriteManyTest, TheWriteManyOptionForcesOrForbidsTheBundleAndIsChecked) {
  ScriptedPeer peer;
  FhirTransport single;
  TransportSettings settings = Settings(peer);
  settings.options["capability_statement"] = "ignore";
  settings.options["write_many"] = "single";
  ASSERT_TRUE(single.Configure(settings).ok());
  peer.Push(Reply{200, "", {{"ETag", "W/\"1\""}}});
  peer.Push(Reply{200, "", {{"ETag", "W/\"1\""}}});
  single.WriteMany(
      {Write(TransportOperation::kCreate, "a"), Write(TransportOperation::kCreate, "b")});
  EXPECT_EQ(peer.requests().size(), 2u);
  EXPECT_TRUE(Posts(peer).empty());  // no metadata asked either

  ScriptedPeer other;
  FhirTransport forced;
  settings = Settings(other);
  settings.options["capability_statement"] = "ignore";
  settings.options["write_many"] = "batch";
  ASSERT_TRUE(forced.Configure(settings).ok());
  other.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"response":{"status":"201 Created"}},{"response":{"status":"201 Created"}}]})"});
  forced.WriteMany(
      {Write(TransportOperation::kCreate, "a"), Write(TransportOperation::kCreate, "b")});
  ASSERT_EQ(other.requests().size(), 1u);
  EXPECT_EQ(other.requests()[0].method, "POST");

  FhirTransport bad;
  settings.options["write_many"] = "bundle";
  Status refused = bad.Configure(settings);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(),
              HasSubstr("options.write_many: expected auto, batch or single, got 'bundle'"));
}

TEST(FhirWriteManyTest, ABundleTheServerRefusesAsSuchIsSentOneWriteAtATime) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureAgainst(transport, peer);
  peer.Push(Reply{405, Outcome("not-supported", "POST is not allowed here")});
  peer.Push(Reply{200, "", {{"ETag", "W/\"3\""}}});
  peer.Push(Reply{200, "", {{"ETag", "W/\"4\""}}});
  std::vector<RemoteWriteResult> results = transport.WriteMany(
      {Write(TransportOperation::kUpdate, "a", "2"), Write(TransportOperation::kUpdate, "b", "3")});
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  EXPECT_EQ(results[1].version, "4");
  // Remembered: the next call does not try a Bundle again.
  peer.Push(Reply{200, "", {{"ETag", "W/\"5\""}}});
  peer.Push(Reply{200, "", {{"ETag", "W/\"6\""}}});
  transport.WriteMany(
      {Write(TransportOperation::kUpdate, "a", "3"), Write(TransportOperation::kUpdate, "b", "4")});
  EXPECT_EQ(Posts(peer).size(), 1u);
  EXPECT_EQ(peer.requests().size(), 6u);
}

TEST(FhirWriteManyTest, AuthFailureOfTheBundleIsEveryWritesAndALostAnswerMakesEachAmbiguous) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureAgainst(transport, peer);
  peer.Push(Reply{403, Outcome("forbidden", "the write role is needed")});
  std::vector<RemoteWriteResult> denied = transport.WriteMany(
      {Write(TransportOperation::kUpdate, "a", "2"), Write(TransportOperation::kDelete, "b", "3")});
  for (const RemoteWriteResult& result : denied) {
    EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(result.status, result.http_status)), "auth");
    EXPECT_THAT(result.operation_outcome, HasSubstr("the write role is needed"));
  }
  Reply drop;
  drop.drop = true;
  peer.Push(drop);
  std::vector<RemoteWriteResult> lost = transport.WriteMany(
      {Write(TransportOperation::kUpdate, "a", "2"), Write(TransportOperation::kDelete, "b", "3")});
  for (const RemoteWriteResult& result : lost) {
    EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(result.status, result.http_status)), "transient");
    EXPECT_TRUE(result.ambiguous);
    EXPECT_EQ(result.version, "");
  }
  // A malformed answer: nothing is taken as written.
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[)"});
  std::vector<RemoteWriteResult> garbled = transport.WriteMany(
      {Write(TransportOperation::kUpdate, "a", "2"), Write(TransportOperation::kDelete, "b", "3")});
  for (const RemoteWriteResult& result : garbled) {
    EXPECT_NE(PushOutcomeName(ClassifyPushAnswer(result.status, result.http_status)), "accepted");
    EXPECT_TRUE(result.ambiguous);
    EXPECT_THAT(result.status.message(), HasSubstr("not a usable batch-response"));
  }
}

TEST(FhirWriteManyTest, AWriteThePluginCannotCarryIsRefusedAndTheOthersAreSent) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureAgainst(transport, peer);
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"response":{"status":"200 OK","etag":"W/\"3\""}},{"response":{"status":"200 OK","etag":"W/\"7\""}}]})"});
  WriteRequest rest = Write(TransportOperation::kUpdate, "v1", "1");
  rest.resource.format = ResourceFormat::kOpenmrsRest;
  WriteRequest empty = Write(TransportOperation::kCreate, "x");
  empty.resource.body.clear();
  WriteRequest read = Write(TransportOperation::kRead, "y");
  std::vector<RemoteWriteResult> results =
      transport.WriteMany({Write(TransportOperation::kUpdate, "a", "2"), rest, empty, read,
                           Write(TransportOperation::kUpdate, "b", "6")});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].version, "3");
  EXPECT_EQ(results[1].status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(results[1].status.message(), HasSubstr("carries only fhir+json"));
  EXPECT_THAT(results[2].status.message(), HasSubstr("Patient/x has no body"));
  EXPECT_THAT(results[3].status.message(), HasSubstr("not read"));
  EXPECT_EQ(results[4].version, "7");
  auto posts = Posts(peer);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_THAT(posts[0].body, ::testing::Not(HasSubstr("Patient/v1")));

  FhirTransport unconfigured;
  std::vector<RemoteWriteResult> early =
      unconfigured.WriteMany({Write(TransportOperation::kCreate, "a")});
  ASSERT_EQ(early.size(), 1u);
  EXPECT_EQ(early[0].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(early[0].status.message(), HasSubstr("the fhir plugin is not configured"));
}

}  // namespace
}  // namespace fhirsync::fhirplugin
