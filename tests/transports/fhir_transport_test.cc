// FhirTransport (the fhir plugin's class) against ScriptedPeer: capability
// narrowing at Configure(), the mapping of each call onto fhir-client, and
// that HTTP status, OperationOutcome text and ambiguity reach the caller.

#include "fhir_transport.h"

#include <string>
#include <vector>

#include <Poco/Net/ServerSocket.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "capability_narrowing.h"
#include "fhirsync/sync_push_service.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhirplugin {
namespace {

using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char kPatient[] =
    R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-11-22T10:00:00.250Z"},"gender":"female"})";

const char kCapabilities[] = R"({"resourceType":"CapabilityStatement","fhirVersion":"4.0.1",
  "rest":[{"mode":"server","resource":[
    {"type":"Patient","interaction":[{"code":"read"},{"code":"update"}]},
    {"type":"Observation","interaction":[{"code":"read"}]},
    {"type":"Binary","interaction":[{"code":"create"}]}],
   "interaction":[{"code":"batch"}]}]})";

std::string Outcome(const std::string& code, const std::string& diagnostics) {
  return R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":")" + code +
         R"(","diagnostics":")" + diagnostics + R"("}]})";
}

TransportSettings Settings(const ScriptedPeer& peer) {
  TransportSettings settings;
  settings.base_url = peer.base_url("");
  settings.auth_scheme = "basic";
  settings.user = "child";
  settings.password = "secret";
  settings.options["timeout_ms"] = "5000";
  return settings;
}

// A transport configured against `peer` without asking for metadata.
void ConfigureIgnoringCapabilities(FhirTransport& transport, const ScriptedPeer& peer) {
  TransportSettings settings = Settings(peer);
  settings.options["capability_statement"] = "ignore";
  ASSERT_TRUE(transport.Configure(settings).ok());
}

TEST(NarrowTypesTest, WildcardBecomesTheReadableTypes) {
  fhir::FhirCapabilities caps;
  caps.interactions["Patient"] = {"read", "update"};
  caps.interactions["Binary"] = {"create"};
  caps.interactions["Observation"] = {"read"};
  caps.interactions["visittype"] = {"read"};  // not a FHIR type: never claimed
  EXPECT_THAT(NarrowTypes({"*"}, caps), ElementsAre("Observation", "Patient"));
  EXPECT_THAT(NarrowTypes({"Patient", "Binary", "Encounter"}, caps), ElementsAre("Patient"));
}

TEST(NarrowTypesTest, AStatementListingNoTypesKeepsTheConfiguredOnes) {
  fhir::FhirCapabilities caps;
  caps.system_interactions = {"batch"};
  EXPECT_THAT(NarrowTypes({"Patient", "*", "Patient"}, caps), ElementsAre("*", "Patient"));
}

TEST(FhirTransportTest, ConfigureNarrowsTypesFromTheCapabilityStatement) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kCapabilities});
  FhirTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  TransportCapabilities caps = transport.GetCapabilities();
  EXPECT_THAT(caps.resource_types, ElementsAre("Observation", "Patient"));
  EXPECT_TRUE(transport.narrowed_by_capability_statement());
  EXPECT_THAT(caps.formats, ElementsAre(ResourceFormat::kFhirJson));
  EXPECT_EQ(caps.priority, kDefaultFhirPriority);
  EXPECT_THAT(caps.operations,
              ElementsAre(TransportOperation::kRead, TransportOperation::kReadMany,
                          TransportOperation::kCreate, TransportOperation::kUpdate,
                          TransportOperation::kDelete));
  ASSERT_EQ(peer.requests().size(), 1u);
  EXPECT_EQ(peer.requests()[0].uri, "/fhir/metadata");
  EXPECT_EQ(peer.requests()[0].headers["Authorization"], "Basic Y2hpbGQ6c2VjcmV0");
}

TEST(FhirTransportTest, ConfigureFailsWhenTheServerSupportsNoneOfTheConfiguredTypes) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kCapabilities});
  TransportSettings settings = Settings(peer);
  settings.options["types"] = "Encounter, Binary";
  FhirTransport transport;
  Status status = transport.Configure(settings);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("supports none of the configured types"));
}

TEST(FhirTransportTest, UnreachableServerKeepsConfiguredTypesUnlessRequired) {
  int closed_port;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    closed_port = probe.address().port();
  }
  TransportSettings settings;
  settings.base_url = "http://127.0.0.1:" + std::to_string(closed_port);
  settings.options["types"] = "Patient,Encounter";
  FhirTransport offline;
  ASSERT_TRUE(offline.Configure(settings).ok());
  EXPECT_THAT(offline.GetCapabilities().resource_types, ElementsAre("Patient", "Encounter"));
  EXPECT_FALSE(offline.narrowed_by_capability_statement());

  settings.options["capability_statement"] = "require";
  FhirTransport strict;
  Status status = strict.Configure(settings);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("cannot read the CapabilityStatement"));
}

TEST(FhirTransportTest, BadSettingsNameTheOption) {
  struct Case {
    std::string key, value, expected;
  };
  std::vector<Case> cases = {
      {"read_many", "sometimes", "options.read_many: expected auto, batch or id-search"},
      {"create_precondition", "if-match",
       "options.create_precondition: expected auto, if-none-match, read-first or none, got 'if-match'"},
      {"capability_statement", "maybe", "options.capability_statement"},
      {"types", "patient", "options.types"},
      {"types", " , ", "options.types names no resource type"},
      {"priority", "high", "options.priority: expected an integer"},
      {"timeout_ms", "0", "options.timeout_ms"},
      {"url", "ftp://x/fhir", "is not an http:// URL"},
  };
  for (const Case& c : cases) {
    TransportSettings settings;
    settings.base_url = "http://127.0.0.1:1";
    settings.options["capability_statement"] = "ignore";
    settings.options[c.key] = c.value;
    FhirTransport transport;
    Status status = transport.Configure(settings);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.key;
    EXPECT_THAT(status.message(), HasSubstr(c.expected)) << c.key;
  }
  TransportSettings no_user;
  no_user.base_url = "http://127.0.0.1:1";
  no_user.auth_scheme = "basic";
  FhirTransport transport;
  Status status = transport.Configure(no_user);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'basic' needs a user"));
}

TEST(FhirTransportTest, ReadKeepsVersionLastUpdatedAndBody) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{200, kPatient, {{"ETag", "W/\"3\""}}});
  ReadResult read = transport.Read("Patient", "p1");
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_EQ(read.http_status, 200);
  EXPECT_EQ(read.resource.version, "3");
  EXPECT_EQ(read.resource.body, kPatient);
  EXPECT_EQ(read.resource.format, ResourceFormat::kFhirJson);
  EXPECT_EQ(read.resource.last_updated_ms, 1795341600250);  // 2026-11-22T10:00:00.250Z
  EXPECT_FALSE(read.resource.deleted);
}

TEST(FhirTransportTest, GoneIsADeletedResourceAndNotFoundKeepsTheOutcome) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{410, Outcome("deleted", "Patient/p1 was deleted"), {{"ETag", "W/\"4\""}}});
  ReadResult gone = transport.Read("Patient", "p1");
  ASSERT_TRUE(gone.status.ok()) << gone.status;
  EXPECT_TRUE(gone.resource.deleted);
  EXPECT_EQ(gone.resource.version, "4");
  EXPECT_EQ(gone.http_status, 410);

  peer.Push(Reply{404, Outcome("not-found", "no Patient/zz")});
  ReadResult missing = transport.Read("Patient", "zz");
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.http_status, 404);
  EXPECT_THAT(missing.operation_outcome, HasSubstr("no Patient/zz"));
}

TEST(FhirTransportTest, CreatePutsAtTheClientIdWithIfNoneMatchStarNotIfMatch) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{201, kPatient, {{"ETag", "W/\"1\""}}});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  RemoteWriteResult created = transport.Create(resource);
  ASSERT_TRUE(created.status.ok()) << created.status;
  EXPECT_EQ(created.version, "1");
  EXPECT_EQ(created.http_status, 201);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].uri, "/fhir/Patient/p1");
  EXPECT_EQ(requests[0].headers.count("If-Match"), 0u);
  EXPECT_EQ(requests[0].headers["If-None-Match"], "*");
  EXPECT_EQ(requests[0].body, kPatient);
}

TEST(FhirTransportTest, CreateOfAnIdTheServerHoldsIsAConflictNamingTheResource) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{412, Outcome("duplicate", "Patient/p1 already exists (version 4); "
                                            "If-None-Match: * only creates")});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  RemoteWriteResult created = transport.Create(resource);
  EXPECT_EQ(created.status.code(), StatusCode::kAborted);
  EXPECT_EQ(created.http_status, 412);
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(created.status, created.http_status)), "conflict");
  EXPECT_THAT(created.operation_outcome, HasSubstr("Patient/p1 already exists (version 4)"));
  EXPECT_THAT(created.status.message(), HasSubstr("PUT Patient/p1: HTTP 412"));
  EXPECT_FALSE(created.ambiguous);
  EXPECT_TRUE(created.version.empty());
}

// For a parent that refuses the header: creates become plain PUTs, one at a
// time and in a batch Bundle alike.
TEST(FhirTransportTest, CreatePreconditionNoneSendsAPlainPut) {
  ScriptedPeer peer;
  FhirTransport transport;
  TransportSettings settings = Settings(peer);
  settings.options["capability_statement"] = "ignore";
  settings.options["write_many"] = "batch";
  settings.options["create_precondition"] = "none";
  ASSERT_TRUE(transport.Configure(settings).ok());
  peer.Push(Reply{201, kPatient, {{"ETag", "W/\"1\""}}});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  ASSERT_TRUE(transport.Create(resource).status.ok());
  peer.Push(Reply{200, R"({"resourceType":"Bundle","type":"batch-response","entry":[
    {"response":{"status":"201 Created","etag":"W/\"1\""}},
    {"response":{"status":"201 Created","etag":"W/\"1\""}}]})"});
  WriteRequest a{TransportOperation::kCreate, resource, ""};
  WriteRequest b = a;
  b.resource.id = "p2";
  b.resource.body = R"({"resourceType":"Patient","id":"p2"})";
  std::vector<RemoteWriteResult> results = transport.WriteMany({a, b});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[1].status.ok()) << results[1].status;
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].headers.count("If-None-Match"), 0u);
  EXPECT_EQ(requests[0].headers.count("If-Match"), 0u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].body.find("ifNoneMatch"), std::string::npos) << requests[1].body;
}

// A server that is not fhirsync: Patient is created at a client's id
// (updateCreate), Observation is not.
const char kOtherServerCapabilities[] = R"({"resourceType":"CapabilityStatement",
  "fhirVersion":"4.0.1","software":{"name":"Another FHIR server"},
  "rest":[{"mode":"server","resource":[
    {"type":"Patient","updateCreate":true,"interaction":[{"code":"read"},{"code":"update"}]},
    {"type":"Observation","updateCreate":false,"interaction":[{"code":"read"},{"code":"update"}]}
  ]}]})";

void ConfigureForOtherServer(FhirTransport& transport, ScriptedPeer& peer) {
  peer.Push(Reply{200, kOtherServerCapabilities});
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
}

TEST(FhirTransportTest, CreateToAServerThatIsNotFhirsyncReadsFirstThenPutsWithoutIfNoneMatch) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureForOtherServer(transport, peer);
  peer.Push(Reply{404, Outcome("not-found", "Patient/p1 is not known")});
  peer.Push(Reply{201, kPatient, {{"ETag", "W/\"1\""}}});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  RemoteWriteResult created = transport.Create(resource);
  ASSERT_TRUE(created.status.ok()) << created.status;
  EXPECT_EQ(created.version, "1");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].uri, "/fhir/Patient/p1");
  EXPECT_EQ(requests[2].method, "PUT");
  EXPECT_EQ(requests[2].headers.count("If-None-Match"), 0u);
  EXPECT_EQ(requests[2].headers.count("If-Match"), 0u);
}

TEST(FhirTransportTest, CreateOfAnIdAServerThatIsNotFhirsyncHoldsIsAConflictAndNothingIsSent) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureForOtherServer(transport, peer);
  peer.Push(Reply{200, kPatient, {{"ETag", "W/\"7\""}}});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  RemoteWriteResult created = transport.Create(resource);
  EXPECT_EQ(created.status.code(), StatusCode::kAborted);
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(created.status, created.http_status)), "conflict");
  EXPECT_THAT(created.status.message(), HasSubstr("already holds Patient/p1 (version 7)"));
  EXPECT_EQ(peer.requests().size(), 2u);  // the statement and the read: no PUT
}

TEST(FhirTransportTest, CreateOfATypeWithoutUpdateCreateIsRefusedNamingIt) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureForOtherServer(transport, peer);
  RemoteResource resource{"Observation", "o1", "", 0, false, ResourceFormat::kFhirJson,
                          R"({"resourceType":"Observation","id":"o1"})"};
  RemoteWriteResult created = transport.Create(resource);
  EXPECT_EQ(created.status.code(), StatusCode::kUnimplemented);
  EXPECT_THAT(created.status.message(), HasSubstr("does not say updateCreate for Observation"));
  EXPECT_EQ(peer.requests().size(), 1u);
}

TEST(FhirTransportTest, CreateToAFhirsyncServerKeepsIfNoneMatch) {
  ScriptedPeer peer;
  FhirTransport transport;
  peer.Push(Reply{200, R"({"resourceType":"CapabilityStatement","software":{"name":"fhirsync"},
    "rest":[{"mode":"server","resource":[{"type":"Patient","updateCreate":true,
    "interaction":[{"code":"read"}]}]}]})"});
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  peer.Push(Reply{201, kPatient, {{"ETag", "W/\"1\""}}});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  ASSERT_TRUE(transport.Create(resource).status.ok());
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].headers["If-None-Match"], "*");
}

TEST(FhirTransportTest, UpdateSendsIfMatchAndNoIfNoneMatch) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{200, kPatient, {{"ETag", "W/\"3\""}}});
  peer.Push(Reply{200, kPatient, {{"ETag", "W/\"4\""}}});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  ASSERT_TRUE(transport.Update(resource, "2").status.ok());
  // An operator's forced retry: no precondition at all.
  ASSERT_TRUE(transport.Update(resource, "").status.ok());
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers["If-Match"], "W/\"2\"");
  EXPECT_EQ(requests[0].headers.count("If-None-Match"), 0u);
  EXPECT_EQ(requests[1].headers.count("If-Match"), 0u);
  EXPECT_EQ(requests[1].headers.count("If-None-Match"), 0u);
}

TEST(FhirTransportTest, StaleUpdateIsAbortedWithStatus412AndTheOutcomeText) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{412, Outcome("conflict", "version conflict: expected 2 but is 3")});
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  RemoteWriteResult updated = transport.Update(resource, "2");
  EXPECT_EQ(updated.status.code(), StatusCode::kAborted);
  EXPECT_EQ(updated.http_status, 412);
  EXPECT_THAT(updated.operation_outcome, HasSubstr("expected 2 but is 3"));
  EXPECT_THAT(updated.status.message(), HasSubstr("PUT Patient/p1: HTTP 412"));
  EXPECT_FALSE(updated.ambiguous);
  EXPECT_EQ(peer.requests()[0].headers["If-Match"], "W/\"2\"");
}

TEST(FhirTransportTest, BusinessRuleAndLostAnswerAreReportedAsFhirClientSaysThem) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  RemoteResource resource{"Patient", "p1", "", 0, false, ResourceFormat::kFhirJson, kPatient};
  peer.Push(Reply{422, Outcome("business-rule", "Negative stock")});
  RemoteWriteResult rejected = transport.Update(resource, "3");
  EXPECT_EQ(rejected.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rejected.http_status, 422);
  EXPECT_THAT(rejected.operation_outcome, HasSubstr("Negative stock"));

  Reply dropped;
  dropped.drop = true;
  peer.Push(dropped);
  RemoteWriteResult lost = transport.Update(resource, "3");
  EXPECT_EQ(lost.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(lost.ambiguous);
  EXPECT_THAT(lost.status.message(), HasSubstr("ambiguous"));
}

TEST(FhirTransportTest, DeleteSendsIfMatchAndReturnsTheNewVersion) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  peer.Push(Reply{204, "", {{"ETag", "W/\"5\""}}});
  RemoteWriteResult deleted = transport.Delete("Patient", "p1", "4");
  ASSERT_TRUE(deleted.status.ok()) << deleted.status;
  EXPECT_EQ(deleted.version, "5");
  EXPECT_EQ(peer.requests()[0].method, "DELETE");
  EXPECT_EQ(peer.requests()[0].headers["If-Match"], "W/\"4\"");
}

TEST(FhirTransportTest, ReadManyUsesTheBatchTheServerAdvertises) {
  ScriptedPeer peer;
  peer.Push(Reply{200, kCapabilities});
  FhirTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  peer.Push(Reply{200, std::string(R"({"resourceType":"Bundle","type":"batch-response","entry":[
      {"resource":)") + kPatient + R"(,"response":{"status":"200 OK","etag":"W/\"3\""}},
      {"response":{"status":"404 Not Found"}}]})"});
  ReadManyResult many = transport.ReadMany("Patient", {"p1", "p2"});
  ASSERT_TRUE(many.status.ok()) << many.status;
  ASSERT_EQ(many.items.size(), 2u);
  EXPECT_TRUE(many.items[0].status.ok()) << many.items[0].status;
  EXPECT_EQ(many.items[0].resource.id, "p1");
  EXPECT_EQ(many.items[0].resource.version, "3");
  EXPECT_EQ(many.items[1].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(many.items[1].resource.id, "p2");
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].uri, "/fhir");
}

TEST(FhirTransportTest, WritesOfTheWrongFormatAreRefusedBeforeSending) {
  ScriptedPeer peer;
  FhirTransport transport;
  ConfigureIgnoringCapabilities(transport, peer);
  RemoteResource rest{"visittype", "v1", "", 0, false, ResourceFormat::kOpenmrsRest, "{}"};
  RemoteWriteResult refused = transport.Create(rest);
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status.message(), HasSubstr("carries only fhir+json"));
  EXPECT_TRUE(peer.requests().empty());
}

TEST(FhirTransportTest, CallsBeforeConfigureFail) {
  FhirTransport transport;
  ReadResult read = transport.Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(read.status.message(), HasSubstr("not configured"));
}

}  // namespace
}  // namespace fhirsync::fhirplugin
