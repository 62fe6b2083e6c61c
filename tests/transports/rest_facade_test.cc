// The node's OpenMRS REST facade (/ws/rest/v1) served by a real NodeServer
// over a real SQLite store on 127.0.0.1, driven by the real rest-client (and
// raw requests for what a well-behaved client never sends): representations,
// create/update/void/purge, version checks, roles, and bad input answered
// with OpenMRS-style JSON errors.

#include <memory>
#include <string>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "fhirsync/rest/openmrs_rest_client.h"
#include "support/temp_dir.h"

namespace fhirsync::rest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char kUuid[] = "7b0f5697-27e3-40c4-8bae-f4049abfb4ed";
const char kVisitType[] =
    R"({"uuid":"7b0f5697-27e3-40c4-8bae-f4049abfb4ed","display":"Facility Visit","name":"Facility Visit","description":"Visit at the facility","retired":false,"links":[{"rel":"self","uri":"http://elsewhere/x"}]})";

class RestFacadeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeConfig config;
    config.node_id = "parent-1";
    config.server.bind = "127.0.0.1";
    config.server.port = 0;
    config.server.threads = 4;
    config.server.max_request_bytes = 64 * 1024;
    config.server.users.push_back(*MakeUser("writer", "w-pass", {"read", "write"}));
    config.server.users.push_back(*MakeUser("reader", "r-pass", {"read"}));
    StoreConfig store_config;
    store_config.path = "store.sqlite";
    auto store = OpenLocalStore(store_config, dir_.path(), config.node_id);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    server_ = std::make_unique<NodeServer>(config, *store_);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  std::unique_ptr<OpenmrsRestClient> Client(const std::string& user, const std::string& password) {
    RestClientOptions options;
    options.base_url = server_->base_url() + "/ws/rest/v1";
    options.username = user;
    options.password = password;
    return std::make_unique<OpenmrsRestClient>(options);
  }

  struct Raw {
    int status = 0;
    std::string body;
  };
  // A request with writer credentials unless `authorization` says otherwise.
  Raw Send(const std::string& method, const std::string& target, const std::string& body = "",
           const std::string& authorization = "Basic d3JpdGVyOnctcGFzcw==") {  // writer:w-pass
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!authorization.empty()) request.set("Authorization", authorization);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Raw raw;
    raw.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, raw.body);
    return raw;
  }

  testing::TempDir dir_{"fhirsync-rest-facade"};
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
};

TEST_F(RestFacadeTest, CreateThenGetInEachRepresentation) {
  auto writer = Client("writer", "w-pass");
  RestResult created = writer->Create("visittype", kUuid, kVisitType);
  ASSERT_TRUE(created.ok()) << created.status;
  EXPECT_EQ(created.http_status, 201);
  EXPECT_EQ(created.version, "1");

  auto stored = store_->Get("visittype", kUuid);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->format, ResourceFormat::kOpenmrsRest);
  EXPECT_THAT(stored->body, Not(HasSubstr("elsewhere"))) << "links are not stored";

  RestResult full = writer->Get("visittype", kUuid, Representation::kFull);
  ASSERT_TRUE(full.ok()) << full.status;
  EXPECT_EQ(full.version, "1");
  EXPECT_THAT(full.body, HasSubstr(R"("uuid":"7b0f5697-27e3-40c4-8bae-f4049abfb4ed")"));
  EXPECT_THAT(full.body, HasSubstr(R"("display":"Facility Visit")"));
  EXPECT_THAT(full.body, HasSubstr(R"("auditInfo":{"dateCreated":")"));
  EXPECT_THAT(full.body, HasSubstr(server_->base_url() + "/ws/rest/v1/visittype/" + kUuid));
  EXPECT_GT(full.last_updated_ms, 0) << "auditInfo.dateCreated parses";

  RestResult by_default = writer->Get("visittype", kUuid, Representation::kDefault);
  ASSERT_TRUE(by_default.ok()) << by_default.status;
  EXPECT_THAT(by_default.body, Not(HasSubstr("auditInfo")));
  EXPECT_THAT(by_default.body, HasSubstr(R"("rel":"full")"));

  RestResult ref = writer->Get("visittype", kUuid, Representation::kRef);
  ASSERT_TRUE(ref.ok()) << ref.status;
  EXPECT_THAT(ref.body, HasSubstr(R"("display":"Facility Visit")"));
  EXPECT_THAT(ref.body, Not(HasSubstr("description")));
}

TEST_F(RestFacadeTest, UpdateMergesAndAStaleVersionIs412) {
  auto writer = Client("writer", "w-pass");
  ASSERT_TRUE(writer->Create("visittype", kUuid, kVisitType).ok());
  RestResult updated =
      writer->Update("visittype", kUuid, R"({"description":"Outpatient visit"})", "1");
  ASSERT_TRUE(updated.ok()) << updated.status;
  EXPECT_EQ(updated.version, "2");
  EXPECT_THAT(updated.body, HasSubstr(R"("description":"Outpatient visit")"));
  EXPECT_THAT(updated.body, HasSubstr(R"("name":"Facility Visit")")) << "unnamed properties stay";
  EXPECT_THAT(updated.body, HasSubstr(R"("dateChanged":")"));

  RestResult stale = writer->Update("visittype", kUuid, R"({"description":"Lost update"})", "1");
  EXPECT_EQ(stale.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.http_status, 412);
  EXPECT_THAT(stale.error_message, HasSubstr("expects version 1 but the current version is 2"));
  EXPECT_THAT(store_->Get("visittype", kUuid)->body, Not(HasSubstr("Lost update")));

  RestResult duplicate = writer->Create("visittype", kUuid, kVisitType);
  EXPECT_EQ(duplicate.status.code(), StatusCode::kAborted);
  EXPECT_EQ(duplicate.http_status, 409);
  EXPECT_THAT(duplicate.error_message, HasSubstr("already exists"));
}

TEST_F(RestFacadeTest, DeleteRetiresMetadataVoidsDataAndPurgeRemoves) {
  auto writer = Client("writer", "w-pass");
  ASSERT_TRUE(writer->Create("visittype", kUuid, kVisitType).ok());
  RestResult retired = writer->Void("visittype", kUuid, "duplicate", "1");
  ASSERT_TRUE(retired.ok()) << retired.status;
  EXPECT_EQ(retired.http_status, 204);
  EXPECT_EQ(retired.version, "2");
  RestResult read = writer->Get("visittype", kUuid);
  EXPECT_THAT(read.body, HasSubstr(R"("retired":true)"));
  EXPECT_THAT(read.body, HasSubstr(R"("retireReason":"duplicate")"));

  const std::string obs_uuid = "0f97e14e-cdc2-49ac-9255-b5126f8a5147";
  ASSERT_TRUE(writer->Create("obs", obs_uuid, R"({"concept":"5089AAAA","value":70})").ok());
  ASSERT_TRUE(writer->Void("obs", obs_uuid, "").ok());
  EXPECT_THAT(writer->Get("obs", obs_uuid).body, HasSubstr(R"("voided":true)"));

  RestResult stale_purge = writer->Purge("visittype", kUuid, "1");
  EXPECT_EQ(stale_purge.status.code(), StatusCode::kAborted);
  RestResult purged = writer->Purge("visittype", kUuid, "2");
  ASSERT_TRUE(purged.ok()) << purged.status;
  RestResult gone = writer->Get("visittype", kUuid);
  EXPECT_EQ(gone.status.code(), StatusCode::kNotFound);
  EXPECT_THAT(gone.error_message, HasSubstr("was purged"));
  auto tombstone = store_->Get("visittype", kUuid);
  ASSERT_TRUE(tombstone.ok());
  EXPECT_TRUE(tombstone->deleted);
}

TEST_F(RestFacadeTest, RolesAndCredentialsAreTheServers) {
  auto writer = Client("writer", "w-pass");
  ASSERT_TRUE(writer->Create("visittype", kUuid, kVisitType).ok());
  auto reader = Client("reader", "r-pass");
  EXPECT_TRUE(reader->Get("visittype", kUuid).ok());
  RestResult denied = reader->Update("visittype", kUuid, R"({"name":"x"})");
  EXPECT_EQ(denied.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.http_status, 403);
  EXPECT_THAT(denied.error_message, HasSubstr("reader"));  // OpenMRS-form error, with its text

  auto stranger = Client("writer", "wrong");
  RestResult refused = stranger->Get("visittype", kUuid);
  EXPECT_EQ(refused.status.code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(refused.error_message.empty());
  Raw anonymous = Send("GET", std::string("/ws/rest/v1/visittype/") + kUuid, "", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_THAT(anonymous.body, HasSubstr(R"({"error":{"message":)"));
}

TEST_F(RestFacadeTest, BadInputGetsAClearJsonError) {
  auto writer = Client("writer", "w-pass");
  ASSERT_TRUE(writer->Create("visittype", kUuid, kVisitType).ok());
  const std::string path = std::string("/ws/rest/v1/visittype/") + kUuid;
  struct Case {
    std::string method, target, body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"POST", "/ws/rest/v1/visittype", R"({"name":)", 400, "body is not valid JSON"},
      {"POST", "/ws/rest/v1/visittype", "[1,2]", 400, "body is not a JSON object"},
      {"POST", "/ws/rest/v1/visittype", "", 400, "has no body"},
      {"POST", "/ws/rest/v1/visittype", R"({"uuid":"../../x"})", 400, "uuid"},
      {"POST", "/ws/rest/v1/visittype", R"({"uuid":42})", 400, "uuid is not a string"},
      {"POST", path, R"({"uuid":"another"})", 400, "does not match the uuid"},
      {"POST", "/ws/rest/v1/Visit%20Type", "{}", 400, "OpenMRS resource name"},
      {"GET", path + "?v=custom:(uuid)", "", 400, "is not supported (ref, default or full)"},
      {"DELETE", path + "?purge=maybe", "", 400, "is not true or false"},
      {"GET", "/ws/rest/v1/visittype/no-such-uuid", "", 404, "no visittype/no-such-uuid"},
      {"GET", "/ws/rest/v2/visittype/x", "", 404, "no OpenMRS REST endpoint"},
      {"PUT", path, "{}", 405, "method PUT is not allowed"},
      {"POST", path, std::string(70 * 1024, ' '), 413, "request body cap"},
  };
  for (const Case& c : cases) {
    Raw raw = Send(c.method, c.target, c.body);
    EXPECT_EQ(raw.status, c.status) << c.method << " " << c.target;
    EXPECT_THAT(raw.body, HasSubstr(R"({"error":{"message":)")) << c.target;
    EXPECT_THAT(raw.body, HasSubstr(c.message)) << c.method << " " << c.target;
  }
  Raw good = Send("POST", path, R"({"name":"x"})");
  EXPECT_EQ(good.status, 200) << good.body;
  // None of the bad requests changed the stored resource; the good one did.
  auto stored = store_->Get("visittype", kUuid);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->version, 2);
}

TEST_F(RestFacadeTest, FhirResourcesAreNotVisibleThroughTheFacade) {
  WriteOp patient;
  patient.type = "Patient";
  patient.id = "p1";
  patient.body = R"({"resourceType":"Patient","id":"p1"})";
  ASSERT_TRUE(store_->Put(patient).ok());
  // An OpenMRS "patient" is a different key from the FHIR "Patient".
  auto writer = Client("writer", "w-pass");
  RestResult missing = writer->Get("patient", "p1");
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);

  // Nor are REST resources FHIR types in the CapabilityStatement.
  ASSERT_TRUE(writer->Create("visittype", kUuid, kVisitType).ok());
  Raw metadata = Send("GET", "/fhir/metadata");
  EXPECT_EQ(metadata.status, 200);
  EXPECT_THAT(metadata.body, HasSubstr(R"("type":"Patient")"));
  EXPECT_THAT(metadata.body, Not(HasSubstr("visittype")));
}

}  // namespace
}  // namespace fhirsync::rest
