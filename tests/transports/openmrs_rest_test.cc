// OpenmrsRestClient (rest-client) and OpenmrsRestTransport (the openmrs-rest
// plugin's class) against ScriptedPeer, with the real OpenMRS REST bodies
// from ../shared/testdata/openmrs-rest/: the requests the OpenMRS REST v1
// API expects, the architecture §5 status of each answer, OpenMRS error messages
// and lost answers.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhirsync/rest/openmrs_rest_client.h"
#include "openmrs_rest_transport.h"
#include "rest_wire.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::rest {
namespace {

using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::HasSubstr;

std::string TestData(const std::string& name) {
  std::ifstream in(std::string(FHIRSYNC_TEST_DATA) + "/openmrs-rest/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << "missing test data " << name;
  return text.str();
}

const char kLocationUuid[] = "9a462730-d666-4518-b1d6-1c0620a9027c";
const char kVisitTypeUuid[] = "7b0f5697-27e3-40c4-8bae-f4049abfb4ed";

// An error body as OpenMRS's REST module writes it.
std::string OpenmrsError(const std::string& message, const std::string& field_errors = "") {
  return R"({"error":{"message":")" + message +
         R"(","code":"org.openmrs.module.webservices.rest.web.response.X","detail":"",)" +
         R"("globalErrors":[],"fieldErrors":{)" + field_errors + "}}}";
}

RestClientOptions Options(const ScriptedPeer& peer) {
  RestClientOptions options;
  options.base_url = peer.base_url("/openmrs/ws/rest/v1");
  options.username = "admin";
  options.password = "Admin123";
  options.io_timeout_ms = 5000;
  return options;
}

TEST(RestWireTest, OpenmrsDatesAndAuditInfo) {
  auto ms = ParseOpenmrsDate("1979-12-08T00:00:00.000+0530");
  ASSERT_TRUE(ms.ok()) << ms.status();
  EXPECT_EQ(*ms, 313439400000);
  auto bad = ParseOpenmrsDate("yesterday");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'yesterday' is not an OpenMRS date"));
  // create_location_from_get.json: dateCreated 2018-08-26T12:50:35.000+0000, no dateChanged.
  EXPECT_EQ(AuditLastUpdatedMs(TestData("create_location_from_get.json")), 1535287835000);
  EXPECT_EQ(AuditLastUpdatedMs(TestData("create_patient.json")), 0);
}

TEST(RestWireTest, ErrorMessageJoinsMessageAndFieldErrors) {
  std::string body = OpenmrsError("Invalid Submission",
                                  R"("name":[{"code":"error.null","message":"Name is required"}])");
  EXPECT_EQ(ErrorMessage(body), "Invalid Submission; name: Name is required");
  EXPECT_EQ(ErrorMessage("<html>oops</html>"), "");
}

TEST(RestWireTest, BodyWithUuidSetsOrChecksTheUuid) {
  auto set = BodyWithUuid(TestData("create_patient.json"), "a65fc361-f6ac-40ba-8485-94749c061509");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(*set, HasSubstr(R"("uuid":"a65fc361-f6ac-40ba-8485-94749c061509")"));
  EXPECT_THAT(*set, HasSubstr(R"("givenName":"Ram")"));
  auto same = BodyWithUuid(TestData("create_location_from_get.json"), kLocationUuid);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(*same, TestData("create_location_from_get.json"));  // passed through unchanged
  auto other = BodyWithUuid(TestData("create_location_from_get.json"), "other-uuid");
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("does not match the uuid 'other-uuid'"));
  auto array = BodyWithUuid("[1,2]", "x");
  EXPECT_THAT(array.status().message(), HasSubstr("not a JSON object"));
}

TEST(OpenmrsRestClientTest, GetAsksForTheFullRepresentationWithBasicAuth) {
  ScriptedPeer peer;
  const std::string location = TestData("create_location_from_get.json");
  peer.Push(Reply{200, location});
  OpenmrsRestClient client(Options(peer));
  RestResult result = client.Get("location", kLocationUuid);
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.body, location);
  EXPECT_EQ(result.version, "");  // stock OpenMRS sends no ETag
  EXPECT_EQ(result.last_updated_ms, 1535287835000);
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].uri, std::string("/openmrs/ws/rest/v1/location/") + kLocationUuid + "?v=full");
  EXPECT_EQ(requests[0].headers["Accept"], "application/json");
  EXPECT_EQ(requests[0].headers["Authorization"], "Basic YWRtaW46QWRtaW4xMjM=");  // admin:Admin123

  peer.Push(Reply{200, location});
  ASSERT_TRUE(client.Get("location", kLocationUuid, Representation::kRef).ok());
  EXPECT_THAT(peer.requests()[1].uri, HasSubstr("?v=ref"));
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST(OpenmrsRestClientTest, CreatePostsTheBodyWithTheClientUuid) {
  ScriptedPeer peer;
  peer.Push(Reply{201, R"({"uuid":"a65fc361-f6ac-40ba-8485-94749c061509","display":"id-B - Ram Kabir"})",
                  {{"ETag", "W/\"1\""}}});
  OpenmrsRestClient client(Options(peer));
  RestResult result = client.Create("patient", "a65fc361-f6ac-40ba-8485-94749c061509",
                                    TestData("create_patient.json"));
  ASSERT_TRUE(result.ok()) << result.status;
  EXPECT_EQ(result.version, "1");
  EXPECT_EQ(result.http_status, 201);
  auto request = peer.requests().at(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.uri, "/openmrs/ws/rest/v1/patient");
  EXPECT_THAT(request.body, HasSubstr(R"("uuid":"a65fc361-f6ac-40ba-8485-94749c061509")"));
  EXPECT_THAT(request.headers["Content-Type"], HasSubstr("application/json"));
}

TEST(OpenmrsRestClientTest, BadInputIsRefusedBeforeSending) {
  ScriptedPeer peer;
  OpenmrsRestClient client(Options(peer));
  RestResult bad_name = client.Get("Visit Type", kVisitTypeUuid);
  EXPECT_EQ(bad_name.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_name.status.message(), HasSubstr("OpenMRS resource name 'Visit Type' is not valid"));
  RestResult bad_uuid = client.Get("visittype", "../../etc/passwd");
  EXPECT_EQ(bad_uuid.status.code(), StatusCode::kInvalidArgument);
  RestResult bad_body = client.Update("visittype", kVisitTypeUuid, "{\"name\":");
  EXPECT_EQ(bad_body.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_body.status.message(), HasSubstr("body is not valid JSON"));
  RestResult other_uuid = client.Create("visittype", kVisitTypeUuid, R"({"uuid":"x","name":"OPD"})");
  EXPECT_THAT(other_uuid.status.message(), HasSubstr("does not match"));
  EXPECT_TRUE(peer.requests().empty());

  RestClientOptions ftp_options;
  ftp_options.base_url = "ftp://host/ws/rest/v1";
  OpenmrsRestClient ftp(ftp_options);
  RestResult no_http = ftp.Get("visittype", kVisitTypeUuid);
  EXPECT_EQ(no_http.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_http.status.message(), HasSubstr("is not an http:// URL"));
}

TEST(OpenmrsRestClientTest, UpdateSendsIfMatchAndAStaleVersionIsAborted) {
  ScriptedPeer peer;
  peer.Push(Reply{412, OpenmrsError("version conflict: If-Match expects version 1 but the current version is 2")});
  OpenmrsRestClient client(Options(peer));
  RestResult result = client.Update("visittype", kVisitTypeUuid, R"({"name":"OPD"})", "1");
  EXPECT_EQ(result.status.code(), StatusCode::kAborted);
  EXPECT_EQ(result.http_status, 412);
  EXPECT_THAT(result.error_message, HasSubstr("current version is 2"));
  EXPECT_THAT(result.status.message(), HasSubstr("POST visittype/7b0f5697-27e3-40c4-8bae-f4049abfb4ed: HTTP 412"));
  auto request = peer.requests().at(0);
  EXPECT_EQ(request.uri, std::string("/openmrs/ws/rest/v1/visittype/") + kVisitTypeUuid);
  EXPECT_EQ(request.headers["If-Match"], "W/\"1\"");
}

TEST(OpenmrsRestClientTest, EachAnswerClassMapsToItsStatus) {
  struct Case {
    int http;
    StatusCode code;
  };
  std::vector<Case> cases = {{400, StatusCode::kInvalidArgument},
                             {401, StatusCode::kUnauthenticated},
                             {403, StatusCode::kPermissionDenied},
                             {404, StatusCode::kNotFound},
                             {409, StatusCode::kAborted},
                             {500, StatusCode::kUnavailable},
                             {504, StatusCode::kDeadlineExceeded}};
  ScriptedPeer peer;
  OpenmrsRestClient client(Options(peer));
  for (const Case& c : cases) {
    peer.Push(Reply{c.http, OpenmrsError("answer " + std::to_string(c.http))});
    RestResult result = client.Get("visittype", kVisitTypeUuid);
    EXPECT_EQ(result.status.code(), c.code) << c.http;
    EXPECT_EQ(result.http_status, c.http);
    EXPECT_EQ(result.error_message, "answer " + std::to_string(c.http));
    EXPECT_FALSE(result.ambiguous) << "a read is never ambiguous";
  }
}

TEST(OpenmrsRestClientTest, AWriteWhoseAnswerIsLostIsAmbiguous) {
  ScriptedPeer peer;
  Reply dropped;
  dropped.drop = true;
  peer.Push(dropped);
  OpenmrsRestClient client(Options(peer));
  RestResult result = client.Update("visittype", kVisitTypeUuid, R"({"name":"OPD"})");
  EXPECT_EQ(result.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(result.ambiguous);
  EXPECT_THAT(result.status.message(), HasSubstr("ambiguous"));
  peer.Push(Reply{502, "bad gateway"});
  RestResult gateway = client.Void("visittype", kVisitTypeUuid, "");
  EXPECT_EQ(gateway.status.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(gateway.ambiguous);
}

TEST(OpenmrsRestClientTest, VoidAndPurgeAreDeletes) {
  ScriptedPeer peer;
  peer.Push(Reply{204, ""});
  peer.Push(Reply{204, ""});
  OpenmrsRestClient client(Options(peer));
  ASSERT_TRUE(client.Void("visittype", kVisitTypeUuid, "entered in error").ok());
  ASSERT_TRUE(client.Purge("visittype", kVisitTypeUuid, "3").ok());
  auto requests = peer.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "DELETE");
  EXPECT_EQ(requests[0].uri, std::string("/openmrs/ws/rest/v1/visittype/") + kVisitTypeUuid +
                                 "?reason=entered%20in%20error");
  EXPECT_EQ(requests[1].uri,
            std::string("/openmrs/ws/rest/v1/visittype/") + kVisitTypeUuid + "?purge=true");
  EXPECT_EQ(requests[1].headers["If-Match"], "W/\"3\"");
}

}  // namespace
}  // namespace fhirsync::rest

namespace fhirsync::restplugin {
namespace {

using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const char kVisitType[] =
    R"({"uuid":"7b0f5697-27e3-40c4-8bae-f4049abfb4ed","display":"Facility Visit","name":"Facility Visit","retired":false})";

TransportSettings Settings(const ScriptedPeer& peer) {
  TransportSettings settings;
  settings.base_url = peer.base_url("/openmrs");
  settings.auth_scheme = "basic";
  settings.user = "admin";
  settings.password = "Admin123";
  return settings;
}

TEST(OpenmrsRestTransportTest, CapabilitiesCarryOpenmrsRestForTheConfiguredNames) {
  ScriptedPeer peer;
  TransportSettings settings = Settings(peer);
  settings.options["types"] = "visittype, location";
  settings.options["priority"] = "5";
  OpenmrsRestTransport transport;
  ASSERT_TRUE(transport.Configure(settings).ok());
  TransportCapabilities caps = transport.GetCapabilities();
  EXPECT_THAT(caps.resource_types, ElementsAre("visittype", "location"));
  EXPECT_THAT(caps.formats, ElementsAre(ResourceFormat::kOpenmrsRest));
  EXPECT_EQ(caps.priority, 5);
  EXPECT_TRUE(peer.requests().empty()) << "Configure needs no round trip";
}

TEST(OpenmrsRestTransportTest, BadSettingsNameTheOption) {
  ScriptedPeer peer;
  for (const auto& [key, value, expected] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"types", "Patient", "options.types: OpenMRS resource name 'Patient'"},
           {"delete", "shred", "options.delete: expected void or purge"},
           {"connect_timeout_ms", "-5", "options.connect_timeout_ms"}}) {
    TransportSettings settings = Settings(peer);
    settings.options[key] = value;
    OpenmrsRestTransport transport;
    Status status = transport.Configure(settings);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(status.message(), HasSubstr(expected)) << key;
  }
  TransportSettings no_parent;
  OpenmrsRestTransport transport;
  Status status = transport.Configure(no_parent);
  EXPECT_THAT(status.message(), HasSubstr("no remote URL"));
}

TEST(OpenmrsRestTransportTest, ReadUsesTheDefaultRestPathAndKeepsTheBody) {
  ScriptedPeer peer;
  OpenmrsRestTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  peer.Push(Reply{200, kVisitType, {{"ETag", "W/\"2\""}}});
  ReadResult read = transport.Read("visittype", "7b0f5697-27e3-40c4-8bae-f4049abfb4ed");
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_EQ(read.resource.body, kVisitType);
  EXPECT_EQ(read.resource.version, "2");
  EXPECT_EQ(read.resource.format, ResourceFormat::kOpenmrsRest);
  EXPECT_EQ(peer.requests()[0].uri,
            "/openmrs/ws/rest/v1/visittype/7b0f5697-27e3-40c4-8bae-f4049abfb4ed?v=full");
}

TEST(OpenmrsRestTransportTest, ReadManyGivesEachItsStatusButStopsOnATransientFailure) {
  ScriptedPeer peer;
  OpenmrsRestTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  peer.Push(Reply{200, kVisitType});
  peer.Push(Reply{404, R"({"error":{"message":"Object with given uuid doesn't exist"}})"});
  ReadManyResult many = transport.ReadMany("visittype", {"a1", "b2"});
  ASSERT_TRUE(many.status.ok()) << many.status;
  ASSERT_EQ(many.items.size(), 2u);
  EXPECT_TRUE(many.items[0].status.ok());
  EXPECT_EQ(many.items[1].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(many.items[1].resource.id, "b2");
  EXPECT_THAT(many.items[1].operation_outcome, HasSubstr("doesn't exist"));

  peer.Push(Reply{200, kVisitType});
  peer.Push(Reply{503, ""});
  ReadManyResult failed = transport.ReadMany("visittype", {"a1", "b2", "c3"});
  EXPECT_EQ(failed.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(failed.http_status, 503);
  EXPECT_TRUE(failed.items.empty());
  EXPECT_EQ(peer.requests().size(), 4u) << "c3 is not asked for after the failure";
}

TEST(OpenmrsRestTransportTest, DeleteVoidsByDefaultAndPurgesWhenConfigured) {
  ScriptedPeer peer;
  OpenmrsRestTransport voiding;
  ASSERT_TRUE(voiding.Configure(Settings(peer)).ok());
  peer.Push(Reply{204, "", {{"ETag", "W/\"3\""}}});
  RemoteWriteResult voided = voiding.Delete("visittype", "a1", "2");
  ASSERT_TRUE(voided.status.ok()) << voided.status;
  EXPECT_EQ(voided.version, "3");
  EXPECT_THAT(peer.requests()[0].uri, HasSubstr("/visittype/a1?reason=deleted%20on%20a%20fhirsync%20node"));

  TransportSettings settings = Settings(peer);
  settings.options["delete"] = "purge";
  OpenmrsRestTransport purging;
  ASSERT_TRUE(purging.Configure(settings).ok());
  peer.Push(Reply{204, ""});
  ASSERT_TRUE(purging.Delete("visittype", "a1", "").status.ok());
  EXPECT_THAT(peer.requests()[1].uri, HasSubstr("/visittype/a1?purge=true"));
}

TEST(OpenmrsRestTransportTest, WritesKeepTheOpenmrsErrorAndRefuseFhirBodies) {
  ScriptedPeer peer;
  OpenmrsRestTransport transport;
  ASSERT_TRUE(transport.Configure(Settings(peer)).ok());
  peer.Push(Reply{400, R"({"error":{"message":"Invalid Submission","fieldErrors":{"name":[{"message":"Name is required"}]}}})"});
  RemoteResource visit{"visittype", "a1", "", 0, false, ResourceFormat::kOpenmrsRest,
                       R"({"description":"no name"})"};
  RemoteWriteResult rejected = transport.Update(visit, "1");
  EXPECT_EQ(rejected.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rejected.http_status, 400);
  EXPECT_EQ(rejected.operation_outcome, "Invalid Submission; name: Name is required");

  RemoteResource fhir{"visittype", "a1", "", 0, false, ResourceFormat::kFhirJson, "{}"};
  RemoteWriteResult refused = transport.Create(fhir);
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status.message(), HasSubstr("carries only openmrs-rest"));
  EXPECT_EQ(peer.requests().size(), 1u);
}

}  // namespace
}  // namespace fhirsync::restplugin
