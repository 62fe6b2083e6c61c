// FhirClient against ScriptedPeer: the mapping of every answer class to a
// Status (architecture §5), lost answers, timeouts, keep-alive, gzip, paging,
// read-many and the CapabilityStatement.

#include "fhirsync/fhir/fhir_client.h"

#include <chrono>
#include <string>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/scripted_http_peer.h"

namespace fhirsync::fhir {
namespace {

using ::fhirsync::testing::RecordedRequest;
using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

const char kPatient[] =
    R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-11-22T10:00:00Z"},"name":[{"family":"Chalmers"}]})";

std::string Outcome(const std::string& severity, const std::string& code,
                    const std::string& diagnostics) {
  return R"({"resourceType":"OperationOutcome","issue":[{"severity":")" + severity +
         R"(","code":")" + code + R"(","diagnostics":")" + diagnostics + R"("}]})";
}

FhirClientOptions Options(const ScriptedPeer& peer) {
  FhirClientOptions options;
  options.base_url = peer.base_url();
  options.username = "user";
  options.password = "pass";
  options.io_timeout_ms = 5000;
  return options;
}

TEST(FhirClientTest, ReadReturnsBodyAndVersionAndSendsFhirHeaders) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kPatient, {{"ETag", "W/\"3\""}, {"Last-Modified", "Sun, 22 Nov 2026 10:00:00 GMT"}}});
  FhirClient client(Options(peer));
  FhirResult result = client.Read("Patient", "p1");
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.version_id, "3");
  EXPECT_EQ(result.body, kPatient);
  EXPECT_EQ(result.last_modified, "Sun, 22 Nov 2026 10:00:00 GMT");
  EXPECT_FALSE(result.ambiguous);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].uri, "/fhir/Patient/p1");
  EXPECT_EQ(requests[0].headers["Accept"], "application/fhir+json");
  EXPECT_EQ(requests[0].headers["Accept-Encoding"], "gzip");
  EXPECT_EQ(requests[0].headers["Authorization"], "Basic dXNlcjpwYXNz");  // user:pass
}

TEST(FhirClientTest, BearerTokenWinsOverBasic) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kPatient});
  FhirClientOptions options = Options(peer);
  options.bearer_token = "t0k3n";
  FhirClient client(options);
  ASSERT_TRUE(client.Read("Patient", "p1").ok());
  EXPECT_EQ(peer.requests()[0].headers["Authorization"], "Bearer t0k3n");
}

TEST(FhirClientTest, VersionFallsBackToMetaVersionIdAndVReadUsesHistoryPath) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kPatient});
  FhirClient client(Options(peer));
  FhirResult result = client.VRead("Patient", "p1", "3");
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.version_id, "3");
  EXPECT_EQ(peer.requests()[0].uri, "/fhir/Patient/p1/_history/3");
}

struct StatusCase {
  int http;
  StatusCode code;
  bool gone;
  bool ambiguous;  // for a PUT
};

TEST(FhirClientTest, EveryStatusClassMapsToItsCode) {
  const std::vector<StatusCase> cases = {
      {200, StatusCode::kOk, false, false},
      {201, StatusCode::kOk, false, false},
      {400, StatusCode::kInvalidArgument, false, false},
      {401, StatusCode::kUnauthenticated, false, false},
      {403, StatusCode::kPermissionDenied, false, false},
      {404, StatusCode::kNotFound, false, false},
      {405, StatusCode::kUnimplemented, false, false},
      {409, StatusCode::kAborted, false, false},
      {410, StatusCode::kNotFound, true, false},
      {412, StatusCode::kAborted, false, false},
      {415, StatusCode::kInvalidArgument, false, false},
      {422, StatusCode::kFailedPrecondition, false, false},
      {429, StatusCode::kUnavailable, false, false},
      {500, StatusCode::kUnavailable, false, false},
      {502, StatusCode::kUnavailable, false, true},
      {503, StatusCode::kUnavailable, false, false},
      {504, StatusCode::kDeadlineExceeded, false, true},
  };
  ScriptedPeer peer;
  FhirClient client(Options(peer));
  for (const StatusCase& c : cases) {
    SCOPED_TRACE("HTTP " + std::to_string(c.http));
    std::string diagnostics = "diagnostics for " + std::to_string(c.http);
    peer.Push(Reply{c.http, c.http < 300 ? kPatient : Outcome("error", "processing", diagnostics),
                    {{"ETag", "W/\"4\""}}});
    FhirResult result = client.Update("Patient", "p1", kPatient, "3");
    EXPECT_EQ(result.status.code(), c.code) << result.status;
    EXPECT_EQ(result.http_status, c.http);
    EXPECT_EQ(result.gone, c.gone);
    EXPECT_EQ(result.ambiguous, c.ambiguous);
    if (c.http >= 300) {
      EXPECT_THAT(result.status.message(), HasSubstr("PUT Patient/p1: HTTP " + std::to_string(c.http)));
      EXPECT_THAT(result.status.message(), HasSubstr(diagnostics));
      EXPECT_EQ(result.outcome_text, "error (processing): " + diagnostics);
    } else {
      EXPECT_EQ(result.version_id, "4");
    }
  }
}

TEST(FhirClientTest, BusinessRuleKeepsTheOperationOutcomeText) {
  ScriptedPeer peer;
  peer.Push(Reply{422, Outcome("error", "business-rule", "Negative stock not allowed")});
  FhirClient client(Options(peer));
  FhirResult result = client.Update("Medication", "m1", R"({"resourceType":"Medication"})", "7");
  EXPECT_EQ(result.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.outcome_text, "error (business-rule): Negative stock not allowed");
  EXPECT_THAT(result.status.message(),
              HasSubstr("PUT Medication/m1: HTTP 422 Unprocessable Entity: error (business-rule): "
                        "Negative stock not allowed"));
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].headers["If-Match"], "W/\"7\"");
  EXPECT_EQ(requests[0].headers["Content-Type"], "application/fhir+json; charset=utf-8");
  EXPECT_EQ(requests[0].body, R"({"resourceType":"Medication"})");
}

TEST(FhirClientTest, CreateAtPutsWithIfNoneMatchAndConditionalCreateSendsIfNoneExist) {
  ScriptedPeer peer;
  peer.Push(Reply{201, kPatient, {{"Location", "http://x/fhir/Patient/p1/_history/1"}}});
  peer.Push(Reply{201, "", {{"Location", "http://x/fhir/Patient/77/_history/1"}}});
  peer.Push(Reply{200, "", {{"ETag", "W/\"9\""}}});
  FhirClient client(Options(peer));
  FhirResult created = client.CreateAt("Patient", "p1", kPatient);
  ASSERT_TRUE(created.ok()) << created.status;
  EXPECT_EQ(created.http_status, 201);
  EXPECT_EQ(created.version_id, "1");
  FhirResult conditional =
      client.CreateConditional("Patient", kPatient, "identifier=urn:sys|123");
  ASSERT_TRUE(conditional.ok()) << conditional.status;
  EXPECT_EQ(conditional.location, "http://x/fhir/Patient/77/_history/1");
  FhirResult deleted = client.Delete("Patient", "p1", "8");
  ASSERT_TRUE(deleted.ok()) << deleted.status;
  EXPECT_EQ(deleted.version_id, "9");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].uri, "/fhir/Patient/p1");
  EXPECT_EQ(requests[0].headers.count("If-Match"), 0u);
  EXPECT_EQ(requests[0].headers["If-None-Match"], "*");
  EXPECT_EQ(requests[0].headers["Prefer"], "return=minimal");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].headers.count("If-None-Match"), 0u);
  EXPECT_EQ(requests[1].uri, "/fhir/Patient");
  EXPECT_EQ(requests[1].headers["If-None-Exist"], "identifier=urn:sys|123");
  EXPECT_EQ(requests[2].method, "DELETE");
  EXPECT_EQ(requests[2].headers["If-Match"], "W/\"8\"");
}

// A server that honours Prefer: return=minimal answers a write without a
// body: the version comes from the ETag.
TEST(FhirClientTest, AMinimalAnswerToAnUpdateGivesTheVersionFromTheEtag) {
  ScriptedPeer peer;
  peer.Push(Reply{200, "", {{"ETag", "W/\"5\""}}});
  FhirClient client(Options(peer));
  FhirResult updated = client.Update("Patient", "p1", kPatient, "4");
  ASSERT_TRUE(updated.ok()) << updated.status;
  EXPECT_EQ(updated.version_id, "5");
  EXPECT_TRUE(updated.body.empty());
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers["If-Match"], "W/\"4\"");
  EXPECT_EQ(requests[0].headers["Prefer"], "return=minimal");
}

TEST(FhirClientTest, HostileIdsAreRefusedBeforeAnythingIsSent) {
  ScriptedPeer peer;
  FhirClient client(Options(peer));
  FhirResult result = client.Read("Patient", "../../admin");
  EXPECT_EQ(result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status.message(), HasSubstr("GET Patient/../../admin"));
  FhirResult type = client.Update("patient; rm", "1", "{}", "");
  EXPECT_EQ(type.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(peer.requests().empty());

  FhirClientOptions options;
  options.base_url = "ftp://127.0.0.1/fhir";
  FhirClient bad(options);
  FhirResult refused = bad.Read("Patient", "p1");
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status.message(), HasSubstr("is not an http:// URL"));
}

TEST(FhirClientTest, ConnectionDroppedAfterAWriteWasSentIsAmbiguous) {
  ScriptedPeer peer;
  Reply drop;
  drop.drop = true;
  peer.Push(drop);
  FhirClient client(Options(peer));
  FhirResult result = client.Update("Patient", "p1", kPatient, "3");
  EXPECT_EQ(result.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(result.ambiguous);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_THAT(result.status.message(), HasSubstr("PUT Patient/p1: connection closed without an answer"));
  EXPECT_THAT(result.status.message(), HasSubstr("ambiguous"));
  ASSERT_EQ(peer.requests().size(), 1u);  // the server did get it

  // The same loss on a read is a plain transient failure.
  peer.Push(drop);
  FhirClient reader(Options(peer));
  FhirResult read = reader.Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(read.ambiguous);
  EXPECT_THAT(read.status.message(), ::testing::Not(HasSubstr("ambiguous")));
}

TEST(FhirClientTest, ResponseCutMidBodyIsUnavailableAndAmbiguousForWrites) {
  ScriptedPeer peer;
  Reply cut{200, kPatient, {{"ETag", "W/\"4\""}}};
  cut.cut_after = 10;
  peer.Push(cut);
  FhirClient client(Options(peer));
  FhirResult result = client.Update("Patient", "p1", kPatient, "3");
  EXPECT_EQ(result.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(result.ambiguous);
  EXPECT_THAT(result.status.message(),
              HasSubstr("response cut after 10 of " + std::to_string(std::string(kPatient).size()) +
                        " bytes"));
  EXPECT_EQ(result.version_id, "");  // nothing from a broken answer is trusted

  peer.Push(cut);
  FhirResult read = client.Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(read.ambiguous);
  EXPECT_EQ(read.body, "");
}

TEST(FhirClientTest, StalledServerTimesOutAsDeadlineExceeded) {
  ScriptedPeer peer;
  Reply stall{200, kPatient};
  stall.stall_ms = 20000;  // released when the peer is torn down
  peer.Push(stall);
  FhirClientOptions options = Options(peer);
  options.io_timeout_ms = 300;
  FhirClient client(options);
  auto started = std::chrono::steady_clock::now();
  FhirResult result = client.Update("Patient", "p1", kPatient, "3");
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(result.ambiguous);
  EXPECT_THAT(result.status.message(), HasSubstr("timed out waiting for the answer"));
  EXPECT_LT(waited, std::chrono::seconds(10));
}

TEST(FhirClientTest, NothingListeningIsUnavailableAndNotAmbiguous) {
  int port;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }  // closed: nothing listens there now
  FhirClientOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port) + "/fhir";
  FhirClient client(options);
  FhirResult result = client.Update("Patient", "p1", kPatient, "3");
  EXPECT_EQ(result.status.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(result.ambiguous);
  EXPECT_THAT(result.status.message(), HasSubstr("PUT Patient/p1: connection refused"));
}

TEST(FhirClientTest, KeepAliveReusesOneConnection) {
  ScriptedPeer peer;
  for (int i = 0; i < 5; ++i) peer.Push(Reply{200, kPatient});
  FhirClient client(Options(peer));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Read("Patient", "p1").ok());
  EXPECT_EQ(client.connections_opened(), 1);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 5u);
  for (const RecordedRequest& request : requests) EXPECT_EQ(request.client, requests[0].client);

  // After a failure the connection is not reused.
  Reply drop;
  drop.drop = true;
  peer.Push(drop);
  EXPECT_FALSE(client.Update("Patient", "p1", kPatient, "1").ok());
  peer.Push(Reply{200, kPatient});
  ASSERT_TRUE(client.Read("Patient", "p1").ok());
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST(FhirClientTest, ReadOnAKeptAliveConnectionTheServerDroppedIsSentOnceMore) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kPatient});
  Reply drop;
  drop.drop = true;
  peer.Push(drop);
  peer.Push(Reply{200, kPatient, {{"ETag", "W/\"3\""}}});
  FhirClient client(Options(peer));
  ASSERT_TRUE(client.Read("Patient", "p1").ok());
  FhirResult again = client.Read("Patient", "p1");
  ASSERT_TRUE(again.ok()) << again.status;
  EXPECT_EQ(again.version_id, "3");
  EXPECT_EQ(peer.requests().size(), 3u);
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST(FhirClientTest, GzipAnswersAreDecodedAndCapped) {
  ScriptedPeer peer;
  std::string big = R"({"resourceType":"Patient","id":"p1","text":{"div":")" +
                    std::string(200000, 'a') + R"("}})";
  Reply gz{200, big};
  gz.gzip = true;
  peer.Push(gz);
  FhirClient client(Options(peer));
  FhirResult result = client.Read("Patient", "p1");
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.body, big);

  // A small compressed answer that inflates past the cap (a gzip bomb).
  peer.Push(gz);
  FhirClientOptions options = Options(peer);
  options.max_response_bytes = 50000;
  FhirClient capped(options);
  FhirResult bomb = capped.Read("Patient", "p1");
  EXPECT_EQ(bomb.status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(bomb.status.message(),
              HasSubstr("decompressed response body is larger than the limit of 50000 bytes"));

  // Without gzip accepted the peer sends plain bytes, and the cap still holds.
  options.accept_gzip = false;
  FhirClient plain(options);
  peer.Push(gz);
  FhirResult too_big = plain.Read("Patient", "p1");
  EXPECT_EQ(too_big.status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(too_big.status.message(), HasSubstr("response body is larger than the limit"));
  EXPECT_EQ(peer.requests().back().headers.count("Accept-Encoding"), 0u);
}

std::string HistoryBundle(const std::string& next, const std::vector<std::string>& entries) {
  std::string json = R"({"resourceType":"Bundle","type":"history","link":[)";
  if (!next.empty()) json += R"({"relation":"next","url":")" + next + R"("})";
  json += R"(],"entry":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) json += (i ? "," : "") + entries[i];
  return json + "]}";
}

std::string PutEntry(const std::string& id, const std::string& version) {
  return R"({"fullUrl":"http://x/fhir/Patient/)" + id + R"(","resource":{"resourceType":"Patient","id":")" +
         id + R"(","meta":{"versionId":")" + version +
         R"(","lastUpdated":"2026-11-22T10:00:00Z"}},"request":{"method":"PUT","url":"Patient/)" + id +
         R"("}})";
}

TEST(FhirClientTest, HistoryFollowsNextLinksAcrossPages) {
  ScriptedPeer peer;
  std::string page2 = peer.base_url() + "/Patient/_history?_since=x&_page=2";
  std::string page3 = peer.base_url() + "/Patient/_history?_since=x&_page=3";
  peer.Push(Reply{200, HistoryBundle(page2, {PutEntry("a", "1"), PutEntry("b", "2")})});
  peer.Push(Reply{200, HistoryBundle(page3, {R"({"request":{"method":"DELETE","url":"Patient/c/_history/5"}})"})});
  peer.Push(Reply{200, HistoryBundle("", {PutEntry("d", "1")})});
  FhirClientOptions options = Options(peer);
  options.history_page_size = 2;
  FhirClient client(options);
  std::vector<HistoryEntry> all;
  int pages = 0;
  Status status = client.History("Patient", "2026-11-22T10:00:00+02:00", [&](HistoryPage&& page) {
    ++pages;
    for (HistoryEntry& entry : page.entries) all.push_back(std::move(entry));
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].id, "a");
  EXPECT_EQ(all[0].version_id, "1");
  EXPECT_EQ(all[0].method, "PUT");
  EXPECT_FALSE(all[0].deleted);
  EXPECT_THAT(all[0].body, HasSubstr(R"("resourceType":"Patient")"));
  EXPECT_EQ(all[2].resource_type, "Patient");
  EXPECT_EQ(all[2].id, "c");
  EXPECT_EQ(all[2].version_id, "5");
  EXPECT_TRUE(all[2].deleted);
  EXPECT_EQ(all[2].body, "");
  EXPECT_EQ(all[3].id, "d");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].uri,
            "/fhir/Patient/_history?_since=2026-11-22T10%3A00%3A00%2B02%3A00&_count=2");
  EXPECT_EQ(requests[1].uri, "/fhir/Patient/_history?_since=x&_page=2");
  EXPECT_EQ(requests[2].uri, "/fhir/Patient/_history?_since=x&_page=3");
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST(FhirClientTest, HistoryRefusesLoopsBadSinceAndNonBundles) {
  ScriptedPeer peer;
  std::string self = peer.base_url() + "/_history?_page=1";
  peer.Push(Reply{200, HistoryBundle(self, {PutEntry("a", "1")})});
  peer.Push(Reply{200, HistoryBundle(self, {PutEntry("a", "1")})});
  FhirClient client(Options(peer));
  Status loop = client.History("", "", [](HistoryPage&&) { return Status::Ok(); });
  EXPECT_EQ(loop.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loop.message(), HasSubstr("repeats (a loop)"));
  EXPECT_EQ(peer.requests()[0].uri, "/fhir/_history");

  auto bad_since = client.HistoryPageAt("Patient", "yesterday");
  EXPECT_EQ(bad_since.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_since.status().message(), HasSubstr("_since"));

  peer.Push(Reply{200, Outcome("information", "informational", "all fine")});
  auto not_bundle = client.HistoryPageAt("Patient", "");
  EXPECT_EQ(not_bundle.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(not_bundle.status().message(),
              HasSubstr("GET Patient/_history: answer is not a Bundle (resourceType 'OperationOutcome')"));
}

const char kCapabilitiesWithBatch[] = R"({"resourceType":"CapabilityStatement","fhirVersion":"4.0.1",
  "software":{"name":"fhirsync"},"rest":[{"mode":"server",
  "interaction":[{"code":"batch"},{"code":"history-system"}],
  "resource":[{"type":"Patient","interaction":[{"code":"read"},{"code":"vread"},{"code":"update"},
  {"code":"delete"},{"code":"history-type"}],"searchParam":[{"name":"_id","type":"token"}]},
  {"type":"Observation","interaction":[{"code":"read"}]}]}]})";

TEST(FhirClientTest, CapabilityStatementIsParsed) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kCapabilitiesWithBatch});
  FhirClient client(Options(peer));
  auto caps = client.Capabilities();
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->fhir_version, "4.0.1");
  EXPECT_EQ(caps->software, "fhirsync");
  EXPECT_TRUE(caps->Supports("Patient", "update"));
  EXPECT_TRUE(caps->Supports("Patient", "history-type"));
  EXPECT_FALSE(caps->Supports("Observation", "update"));
  EXPECT_FALSE(caps->Supports("Encounter", "read"));
  EXPECT_EQ(caps->system_interactions, (std::set<std::string>{"batch", "history-system"}));
  EXPECT_EQ(caps->search_params.at("Patient"), (std::set<std::string>{"_id"}));
  EXPECT_EQ(peer.requests()[0].uri, "/fhir/metadata");
}

TEST(FhirClientTest, ReadManyUsesABatchWhenTheServerOffersOne) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kCapabilitiesWithBatch});
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"resource":{"resourceType":"Patient","id":"a","meta":{"versionId":"2"}},"response":{"status":"200 OK","etag":"W/\"2\""}},
    {"response":{"status":"404 Not Found","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Patient/b is not known"}]}}},
    {"response":{"status":"410 Gone"}}]})"});
  FhirClient client(Options(peer));
  auto results = client.ReadMany("Patient", {"a", "b", "c"});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_TRUE((*results)[0].ok()) << (*results)[0].status;
  EXPECT_EQ((*results)[0].version_id, "2");
  EXPECT_THAT((*results)[0].body, HasSubstr(R"("id":"a")"));
  EXPECT_EQ((*results)[1].status.code(), StatusCode::kNotFound);
  EXPECT_EQ((*results)[1].outcome_text, "error (not-found): Patient/b is not known");
  EXPECT_FALSE((*results)[1].gone);
  EXPECT_EQ((*results)[2].status.code(), StatusCode::kNotFound);
  EXPECT_TRUE((*results)[2].gone);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].uri, "/fhir");
  EXPECT_EQ(requests[1].body,
            R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/a"}},)"
            R"({"request":{"method":"GET","url":"Patient/b"}},{"request":{"method":"GET","url":"Patient/c"}}]})");
}

TEST(FhirClientTest, ReadManyKeepsEveryDigitOfADecimal) {
  // A Location's position from fhir-r4-bulk: parsed without full precision
  // the longitude came out as -99.89053622600224, a different number, and
  // `verify` then found the pulled copy different from the parent's.
  ScriptedPeer peer;
  peer.Push(Reply{200, kCapabilitiesWithBatch});
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"resource":{"resourceType":"Location","id":"l1","meta":{"versionId":"1"},
     "position":{"longitude":-99.89053622600223,"latitude":39.840390445227907}},
     "response":{"status":"200 OK","etag":"W/\"1\""}}]})"});
  FhirClient client(Options(peer));
  auto results = client.ReadMany("Location", {"l1"});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 1u);
  EXPECT_THAT((*results)[0].body, HasSubstr("-99.89053622600223"));
  EXPECT_THAT((*results)[0].body, HasSubstr("39.840390445227907"));
}

TEST(FhirClientTest, ReadManyFallsBackToIdSearchInChunks) {
  ScriptedPeer peer;
  peer.Push(Reply{404, Outcome("error", "not-found", "no metadata here")});  // no CapabilityStatement
  auto match = [](const std::string& id) {
    return R"({"search":{"mode":"match"},"resource":{"resourceType":"Patient","id":")" + id +
           R"(","meta":{"versionId":"1"}}})";
  };
  std::string next = peer.base_url() + "/Patient?_id=a,b&_page=2";
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":")" +
                           next + R"("}],"entry":[)" + match("a") +
                           R"(,{"search":{"mode":"outcome"},"resource":{"resourceType":"OperationOutcome"}}]})"});
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"searchset","entry":[]})"});
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"searchset","entry":[)" + match("c") + "]}"});
  FhirClientOptions options = Options(peer);
  options.read_many_chunk = 2;
  FhirClient client(options);
  auto results = client.ReadMany("Patient", {"a", "b", "c"});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_TRUE((*results)[0].ok());
  EXPECT_EQ((*results)[0].version_id, "1");
  EXPECT_EQ((*results)[1].status.code(), StatusCode::kNotFound);
  EXPECT_THAT((*results)[1].status.message(), HasSubstr("Patient/b: not in the _id search answer"));
  EXPECT_TRUE((*results)[2].ok());
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].uri, "/fhir/metadata");
  EXPECT_EQ(requests[1].uri, "/fhir/Patient?_id=a%2Cb&_count=2");
  EXPECT_EQ(requests[2].uri, "/fhir/Patient?_id=a,b&_page=2");
  EXPECT_EQ(requests[3].uri, "/fhir/Patient?_id=c&_count=1");
}

TEST(FhirClientTest, ReadManyReportsAFailedBatchAsAWhole) {
  ScriptedPeer peer;
  peer.Push(Reply{503, Outcome("error", "transient", "maintenance")});
  FhirClientOptions options = Options(peer);
  options.read_many_mode = ReadManyMode::kBatch;
  FhirClient client(options);
  auto results = client.ReadMany("Patient", {"a"});
  EXPECT_EQ(results.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(results.status().message(), HasSubstr("HTTP 503"));
  EXPECT_THAT(results.status().message(), HasSubstr("maintenance"));

  auto hostile = client.ReadMany("Patient", {"ok", "bad id"});
  EXPECT_EQ(hostile.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fhirsync::fhir
