// FhirClient::WriteBatch against ScriptedPeer: the batch Bundle it sends, and
// the mapping of each entry's response onto a FhirResult exactly as a single
// write's answer is mapped (every status class per entry, mixed outcomes),
// whole-Bundle failures, lost answers, and answers that are no usable
// batch-response (malformed, oversize, wrong type or length): every write
// then comes back ambiguous, never as written.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhir {
namespace {

using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

std::string PatientBody(const std::string& id) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","birthDate":"1970-01-01","x":1.50})";
}

std::string Outcome(const std::string& code, const std::string& diagnostics) {
  return R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":")" + code +
         R"(","diagnostics":")" + diagnostics + R"("}]})";
}

FhirClientOptions Options(const ScriptedPeer& peer) {
  FhirClientOptions options;
  options.base_url = peer.base_url();
  options.io_timeout_ms = 5000;
  return options;
}

BatchWrite Put(const std::string& id, const std::string& expected_version = "") {
  BatchWrite write;
  write.type = "Patient";
  write.id = id;
  write.body = PatientBody(id);
  write.expected_version = expected_version;
  return write;
}

BatchWrite Del(const std::string& id, const std::string& expected_version) {
  BatchWrite write;
  write.method = WriteMethod::kDelete;
  write.type = "Patient";
  write.id = id;
  write.expected_version = expected_version;
  return write;
}

// A batch-response whose entries are the given JSON objects.
std::string Answer(const std::vector<std::string>& entries) {
  std::string json = R"({"resourceType":"Bundle","type":"batch-response","entry":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) json += (i ? "," : "") + entries[i];
  return json + "]}";
}

std::string Entry(const std::string& status, const std::string& extra = "") {
  return R"({"response":{"status":")" + status + "\"" + extra + "}}";
}

TEST(FhirClientBatchTest, SendsOneBatchBundleWithMethodsUrlsAndIfMatch) {
  ScriptedPeer peer;
  peer.Push(Reply{
      200, Answer({Entry("201 Created",
                         R"(,"location":"http://x/fhir/Patient/a/_history/1","etag":"W/\"1\"")"),
                   Entry("200 OK", R"(,"etag":"W/\"3\"")"),
                   Entry("204 No Content", R"(,"etag":"W/\"6\"")")})});
  FhirClient client(Options(peer));
  BatchWriteOutcome outcome = client.WriteBatch({Put("a"), Put("b", "2"), Del("c", "5")});
  ASSERT_TRUE(outcome.bundle_status.ok()) << outcome.bundle_status;
  EXPECT_EQ(outcome.bundle_http_status, 200);
  ASSERT_EQ(outcome.entries.size(), 3u);
  for (const FhirResult& entry : outcome.entries) {
    EXPECT_TRUE(entry.ok()) << entry.status;
    EXPECT_FALSE(entry.ambiguous);
  }
  EXPECT_EQ(outcome.entries[0].http_status, 201);
  EXPECT_EQ(outcome.entries[0].version_id, "1");
  EXPECT_EQ(outcome.entries[0].location, "http://x/fhir/Patient/a/_history/1");
  EXPECT_EQ(outcome.entries[1].version_id, "3");
  EXPECT_EQ(outcome.entries[2].http_status, 204);
  EXPECT_EQ(outcome.entries[2].version_id, "6");

  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].uri, "/fhir");
  EXPECT_EQ(requests[0].headers["Content-Type"], "application/fhir+json; charset=utf-8");
  rapidjson::Document bundle;
  bundle.Parse(requests[0].body.c_str());
  ASSERT_FALSE(bundle.HasParseError()) << requests[0].body;
  EXPECT_STREQ(bundle["resourceType"].GetString(), "Bundle");
  EXPECT_STREQ(bundle["type"].GetString(), "batch");
  const auto& e = bundle["entry"];
  ASSERT_EQ(e.Size(), 3u);
  EXPECT_STREQ(e[0]["request"]["method"].GetString(), "PUT");
  EXPECT_STREQ(e[0]["request"]["url"].GetString(), "Patient/a");
  EXPECT_FALSE(e[0]["request"].HasMember("ifMatch"));  // a create at the client's id
  EXPECT_STREQ(e[1]["request"]["ifMatch"].GetString(), "W/\"2\"");
  EXPECT_STREQ(e[2]["request"]["method"].GetString(), "DELETE");
  EXPECT_STREQ(e[2]["request"]["url"].GetString(), "Patient/c");
  EXPECT_STREQ(e[2]["request"]["ifMatch"].GetString(), "W/\"5\"");
  EXPECT_FALSE(e[2].HasMember("resource"));
  // Bodies travel byte for byte (1.50 stays 1.50).
  EXPECT_THAT(requests[0].body, HasSubstr(R"("resource":)" + PatientBody("b")));
}

struct EntryCase {
  std::string status;
  StatusCode code;
  bool gone;
  bool ambiguous;
};

// Each status class in one Bundle, next to successes: every entry is judged
// on its own, as the single PUT with that answer would be.
TEST(FhirClientBatchTest, EveryStatusClassPerEntryInOneMixedBundle) {
  const std::vector<EntryCase> cases = {
      {"200 OK", StatusCode::kOk, false, false},
      {"400 Bad Request", StatusCode::kInvalidArgument, false, false},
      {"401 Unauthorized", StatusCode::kUnauthenticated, false, false},
      {"403 Forbidden", StatusCode::kPermissionDenied, false, false},
      {"404 Not Found", StatusCode::kNotFound, false, false},
      {"409 Conflict", StatusCode::kAborted, false, false},
      {"410 Gone", StatusCode::kNotFound, true, false},
      {"412 Precondition Failed", StatusCode::kAborted, false, false},
      {"422 Unprocessable Entity", StatusCode::kFailedPrecondition, false, false},
      {"201 Created", StatusCode::kOk, false, false},
      {"500 Internal Server Error", StatusCode::kUnavailable, false, false},
      {"503 Service Unavailable", StatusCode::kUnavailable, false, false},
      {"504 Gateway Timeout", StatusCode::kDeadlineExceeded, false, true},
  };
  std::vector<std::string> entries;
  std::vector<BatchWrite> writes;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const bool ok = cases[i].code == StatusCode::kOk;
    std::string extra = ok ? R"(,"etag":"W/\")" + std::to_string(i + 10) + "\\\"\""
                           : R"(,"outcome":)" + Outcome("processing", "why " + std::to_string(i));
    entries.push_back(Entry(cases[i].status, extra));
    writes.push_back(Put("p" + std::to_string(i), "4"));
  }
  ScriptedPeer peer;
  peer.Push(Reply{200, Answer(entries)});
  FhirClient client(Options(peer));
  BatchWriteOutcome outcome = client.WriteBatch(writes);
  ASSERT_TRUE(outcome.bundle_status.ok()) << outcome.bundle_status;
  ASSERT_EQ(outcome.entries.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const EntryCase& c = cases[i];
    const FhirResult& result = outcome.entries[i];
    SCOPED_TRACE(c.status);
    EXPECT_EQ(result.status.code(), c.code) << result.status;
    EXPECT_EQ(result.http_status, std::stoi(c.status.substr(0, 3)));
    EXPECT_EQ(result.gone, c.gone);
    EXPECT_EQ(result.ambiguous, c.ambiguous);
    if (c.code == StatusCode::kOk) {
      EXPECT_EQ(result.version_id, std::to_string(i + 10));
    } else {
      const std::string label = "PUT Patient/p" + std::to_string(i) + " (batch entry " +
                                std::to_string(i + 1) + " of " + std::to_string(cases.size()) +
                                "): HTTP " + c.status;
      EXPECT_THAT(result.status.message(), HasSubstr(label));
      EXPECT_EQ(result.outcome_text, "error (processing): why " + std::to_string(i));
      EXPECT_THAT(result.status.message(), HasSubstr("why " + std::to_string(i)));
      EXPECT_EQ(result.version_id, "");
    }
  }
}

TEST(FhirClientBatchTest, VersionComesFromEtagElseLocationElseTheReturnedResource) {
  ScriptedPeer peer;
  peer.Push(Reply{
      200,
      Answer(
          {Entry("200 OK", R"(,"location":"Patient/a/_history/7")"),
           R"({"resource":{"resourceType":"Patient","id":"b","meta":{"versionId":"8"}},"response":{"status":"200 OK"}})"})});
  FhirClient client(Options(peer));
  BatchWriteOutcome outcome = client.WriteBatch({Put("a", "6"), Put("b", "7")});
  EXPECT_EQ(outcome.entries[0].version_id, "7");
  EXPECT_EQ(outcome.entries[1].version_id, "8");
}

TEST(FhirClientBatchTest, AFailureOfTheWholeBundleIsEveryWritesResult) {
  ScriptedPeer peer;
  FhirClient client(Options(peer));
  peer.Push(Reply{401, Outcome("login", "no credentials")});
  BatchWriteOutcome denied = client.WriteBatch({Put("a"), Put("b", "1")});
  EXPECT_EQ(denied.bundle_http_status, 401);
  ASSERT_EQ(denied.entries.size(), 2u);
  for (const FhirResult& entry : denied.entries) {
    EXPECT_EQ(entry.status.code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(entry.http_status, 401);
    EXPECT_FALSE(entry.ambiguous);
    EXPECT_THAT(entry.status.message(), HasSubstr("POST batch of 2 writes: HTTP 401"));
    EXPECT_THAT(entry.status.message(), HasSubstr("no credentials"));
  }
  EXPECT_THAT(denied.entries[1].status.message(), HasSubstr("PUT Patient/b (batch entry 2 of 2)"));

  peer.Push(Reply{503, Outcome("transient", "busy")});
  BatchWriteOutcome busy = client.WriteBatch({Put("a"), Put("b", "1")});
  for (const FhirResult& entry : busy.entries) {
    EXPECT_EQ(entry.status.code(), StatusCode::kUnavailable);
    EXPECT_EQ(entry.http_status, 503);
    EXPECT_FALSE(entry.ambiguous);
  }
}

TEST(FhirClientBatchTest, ALostAnswerMarksEveryWriteAmbiguous) {
  ScriptedPeer peer;
  FhirClient client(Options(peer));
  Reply drop;
  drop.drop = true;
  peer.Push(drop);
  BatchWriteOutcome dropped = client.WriteBatch({Put("a"), Put("b", "1"), Del("c", "2")});
  ASSERT_EQ(dropped.entries.size(), 3u);
  for (const FhirResult& entry : dropped.entries) {
    EXPECT_EQ(entry.status.code(), StatusCode::kUnavailable);
    EXPECT_TRUE(entry.ambiguous);
    EXPECT_EQ(entry.http_status, 0);
    EXPECT_THAT(entry.status.message(), HasSubstr("ambiguous"));
  }

  Reply cut{200, Answer({Entry("200 OK", R"(,"etag":"W/\"2\"")"), Entry("200 OK")})};
  cut.cut_after = 30;
  peer.Push(cut);
  BatchWriteOutcome half = client.WriteBatch({Put("a"), Put("b", "1")});
  for (const FhirResult& entry : half.entries) {
    EXPECT_EQ(entry.status.code(), StatusCode::kUnavailable);
    EXPECT_TRUE(entry.ambiguous);
    EXPECT_THAT(entry.status.message(), HasSubstr("response cut after 30"));
    EXPECT_EQ(entry.version_id, "");
  }
}

TEST(FhirClientBatchTest, AnOversizeAnswerMarksEveryWriteAmbiguous) {
  ScriptedPeer peer;
  FhirClientOptions options = Options(peer);
  options.max_response_bytes = 200;
  FhirClient client(options);
  std::string padding(400, 'a');
  peer.Push(
      Reply{200, Answer({Entry("200 OK", R"(,"etag":"W/\"2\"","lastModified":")" + padding + "\""),
                         Entry("200 OK")})});
  BatchWriteOutcome outcome = client.WriteBatch({Put("a"), Put("b", "1")});
  ASSERT_EQ(outcome.entries.size(), 2u);
  for (const FhirResult& entry : outcome.entries) {
    EXPECT_EQ(entry.status.code(), StatusCode::kResourceExhausted);
    EXPECT_TRUE(entry.ambiguous);
    EXPECT_THAT(entry.status.message(), HasSubstr("larger than the limit of 200 bytes"));
    EXPECT_THAT(entry.status.message(), HasSubstr("ambiguous"));
    EXPECT_EQ(entry.version_id, "");
  }
}

TEST(FhirClientBatchTest, AnAnswerThatIsNoUsableBatchResponseMarksEveryWriteAmbiguous) {
  struct Case {
    std::string body;
    std::string says;
  };
  const std::vector<Case> cases = {
      {R"({"resourceType":"Bundle","type":"batch-response","entry":[)", "not valid JSON"},
      {Outcome("processing", "odd"), "is not a Bundle (resourceType 'OperationOutcome')"},
      {R"({"resourceType":"Bundle","type":"searchset","entry":[{},{}]})",
       "type 'searchset', not a batch-response"},
      {R"({"resourceType":"Bundle","type":"batch-response","entry":{"response":{}}})",
       "Bundle.entry is not an array"},
      {Answer({Entry("200 OK", R"(,"etag":"W/\"2\"")")}), "it has 1 entries for 2 requests"},
      {Answer({Entry("200 OK"), Entry("200 OK"), Entry("200 OK")}),
       "it has 3 entries for 2 requests"},
  };
  ScriptedPeer peer;
  FhirClient client(Options(peer));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    peer.Push(Reply{200, c.body});
    BatchWriteOutcome outcome = client.WriteBatch({Put("a"), Put("b", "1")});
    EXPECT_EQ(outcome.bundle_http_status, 200);
    EXPECT_THAT(outcome.bundle_status.message(), HasSubstr(c.says));
    ASSERT_EQ(outcome.entries.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      const FhirResult& entry = outcome.entries[i];
      EXPECT_EQ(entry.status.code(), StatusCode::kUnavailable);
      EXPECT_TRUE(entry.ambiguous);
      EXPECT_EQ(entry.http_status, 0);  // no answer for this write
      EXPECT_EQ(entry.version_id, "");
      EXPECT_THAT(entry.status.message(), HasSubstr("not a usable batch-response"));
      EXPECT_THAT(entry.status.message(), HasSubstr(c.says));
      EXPECT_THAT(entry.status.message(), HasSubstr("read it back before sending again"));
    }
    EXPECT_THAT(outcome.entries[0].status.message(),
                HasSubstr("PUT Patient/a (batch entry 1 of 2)"));
  }
}

TEST(FhirClientBatchTest, AnEntryWithoutAnHttpStatusIsAmbiguousAndTheOthersStand) {
  ScriptedPeer peer;
  peer.Push(Reply{200, Answer({Entry("200 OK", R"(,"etag":"W/\"2\"")"), Entry("fine"),
                               R"({"response":{}})", Entry("412 Precondition Failed")})});
  FhirClient client(Options(peer));
  BatchWriteOutcome outcome =
      client.WriteBatch({Put("a", "1"), Put("b", "1"), Put("c", "1"), Put("d", "1")});
  ASSERT_EQ(outcome.entries.size(), 4u);
  EXPECT_TRUE(outcome.entries[0].ok());
  EXPECT_EQ(outcome.entries[0].version_id, "2");
  for (std::size_t i : {1u, 2u}) {
    EXPECT_EQ(outcome.entries[i].status.code(), StatusCode::kUnavailable);
    EXPECT_TRUE(outcome.entries[i].ambiguous);
    EXPECT_THAT(outcome.entries[i].status.message(), HasSubstr("is not an HTTP status"));
  }
  EXPECT_THAT(outcome.entries[1].status.message(), HasSubstr("response.status 'fine'"));
  EXPECT_EQ(outcome.entries[3].status.code(), StatusCode::kAborted);
  EXPECT_FALSE(outcome.entries[3].ambiguous);
}

TEST(FhirClientBatchTest, WritesInvalidHereAreNotSentAndTheRestAre) {
  ScriptedPeer peer;
  peer.Push(Reply{200, Answer({Entry("200 OK", R"(,"etag":"W/\"2\"")")})});
  FhirClient client(Options(peer));
  BatchWrite hostile = Put("a");
  hostile.id = "../../admin";
  BatchWrite not_json = Put("b");
  not_json.body = R"({"resourceType":"Patient",)";
  BatchWrite bad_version = Put("c", "W/\"1\"");
  BatchWriteOutcome outcome = client.WriteBatch({hostile, not_json, Put("d", "1"), bad_version});
  ASSERT_EQ(outcome.entries.size(), 4u);
  EXPECT_EQ(outcome.entries[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(outcome.entries[0].status.message(), HasSubstr("(batch entry 1 of 4)"));
  EXPECT_EQ(outcome.entries[1].status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(outcome.entries[1].status.message(), HasSubstr("not valid JSON"));
  EXPECT_TRUE(outcome.entries[2].ok()) << outcome.entries[2].status;
  EXPECT_EQ(outcome.entries[2].version_id, "2");
  EXPECT_EQ(outcome.entries[3].status.code(), StatusCode::kInvalidArgument);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  rapidjson::Document bundle;
  bundle.Parse(requests[0].body.c_str());
  ASSERT_EQ(bundle["entry"].Size(), 1u);
  EXPECT_STREQ(bundle["entry"][0]["request"]["url"].GetString(), "Patient/d");

  BatchWriteOutcome none = client.WriteBatch({hostile});
  EXPECT_EQ(none.entries[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(peer.requests().size(), 1u);  // nothing left to send
}

TEST(FhirClientBatchTest, ACreateOnlyWriteCarriesIfNoneMatchAndIsCheckedFirst) {
  ScriptedPeer peer;
  peer.Push(Reply{200, Answer({Entry("201 Created", R"(,"etag":"W/\"1\"")"),
                               Entry("412 Precondition Failed",
                                     R"(,"outcome":)" + Outcome("duplicate",
                                                                "Patient/b already exists"))})});
  FhirClient client(Options(peer));
  BatchWrite a = Put("a");
  a.if_none_match = true;
  BatchWrite b = Put("b");
  b.if_none_match = true;
  BatchWrite guarded_twice = Put("c", "2");  // a create and an update at once
  guarded_twice.if_none_match = true;
  BatchWrite deletion = Del("d", "");
  deletion.if_none_match = true;
  BatchWriteOutcome outcome = client.WriteBatch({a, b, guarded_twice, deletion});
  ASSERT_EQ(outcome.entries.size(), 4u);
  EXPECT_TRUE(outcome.entries[0].ok()) << outcome.entries[0].status;
  EXPECT_EQ(outcome.entries[1].status.code(), StatusCode::kAborted);
  EXPECT_EQ(outcome.entries[1].http_status, 412);
  EXPECT_THAT(outcome.entries[1].outcome_text, HasSubstr("Patient/b already exists"));
  for (std::size_t i : {2u, 3u}) {
    EXPECT_EQ(outcome.entries[i].status.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(outcome.entries[i].status.message(),
                HasSubstr("if_none_match goes only with a PUT that has no expected version"));
  }
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  rapidjson::Document bundle;
  bundle.Parse(requests[0].body.c_str());
  ASSERT_EQ(bundle["entry"].Size(), 2u);
  for (rapidjson::SizeType i = 0; i < 2; ++i) {
    const rapidjson::Value& request = bundle["entry"][i]["request"];
    EXPECT_STREQ(request["method"].GetString(), "PUT");
    EXPECT_STREQ(request["ifNoneMatch"].GetString(), "*");
    EXPECT_FALSE(request.HasMember("ifMatch"));
  }
}

TEST(FhirClientBatchTest, SupportsBatchAsksTheCapabilityStatementOnceItAnswers) {
  ScriptedPeer peer;
  FhirClient client(Options(peer));
  peer.Push(Reply{503, Outcome("transient", "starting")});
  EXPECT_FALSE(client.SupportsBatch());
  peer.Push(Reply{200, R"({"resourceType":"CapabilityStatement","rest":[{"mode":"server",
      "interaction":[{"code":"batch"}]}]})"});
  EXPECT_TRUE(client.SupportsBatch());
  EXPECT_TRUE(client.SupportsBatch());
  EXPECT_EQ(peer.requests().size(), 2u);  // remembered once read
  EXPECT_EQ(peer.requests()[1].uri, "/fhir/metadata");

  ScriptedPeer plain;
  FhirClient other(Options(plain));
  plain.Push(Reply{200, R"({"resourceType":"CapabilityStatement","rest":[{"mode":"server",
      "interaction":[{"code":"transaction"}]}]})"});
  EXPECT_FALSE(other.SupportsBatch());
}

}  // namespace
}  // namespace fhirsync::fhir
