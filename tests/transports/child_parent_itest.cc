// One child configuration against a real `fhirsync serve` parent process on
// 127.0.0.1 (port 0): the child's fhirsync.json loads the real fhir and
// openmrs-rest plugin modules through the real loader
// (SyncResourceManager::Start), routes Patient to the FHIR plugin and
// visittype to the OpenMRS REST plugin, reads both from the same parent, and
// writes, updates and deletes through both, including stale versions
// (kAborted with HTTP 412 kept) and bad input.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/sync_resource_manager.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::fhirsync::testing::ChildProcess;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::fhirsync::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kPluginDir = FHIRSYNC_PLUGIN_DIR;
constexpr auto kStartDeadline = std::chrono::seconds(30);

const char kPatientId[] = "pat-1";
const char kPatient[] =
    R"({"resourceType":"Patient","id":"pat-1","name":[{"family":"Kabir","given":["Ram"]}],"gender":"female"})";
const char kVisitTypeUuid[] = "7b0f5697-27e3-40c4-8bae-f4049abfb4ed";
const char kVisitType[] =
    R"({"uuid":"7b0f5697-27e3-40c4-8bae-f4049abfb4ed","display":"Facility Visit","name":"Facility Visit","description":"Visit at the facility","retired":false})";

class ChildParentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_dir_ = tmp_.path() + "/parent";
    child_dir_ = tmp_.path() + "/child";
    ProcessResult init = RunProcess({kBinary, "init", "--dir", parent_dir_, "--node-id", "parent-1"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(parent_dir_);
    ASSERT_TRUE(config.ok()) << config.status();
    config->server.users.push_back(*MakeUser("child-1", "child-secret", {"read", "write"}));
    config->server.users.push_back(*MakeUser("viewer", "viewer-secret", {"read"}));
    ASSERT_TRUE(SaveNodeConfig(parent_dir_, *config).ok());
    SeedParent(*config);

    std::string error;
    ASSERT_TRUE(parent_.Start({kBinary, "serve", "--dir", parent_dir_, "--bind", "127.0.0.1",
                               "--port", "0"},
                              {}, &error))
        << error;
    const std::string prefix = "listening on http://127.0.0.1:";
    ASSERT_TRUE(parent_.WaitForStdout(
        prefix, std::chrono::duration_cast<std::chrono::milliseconds>(kStartDeadline)))
        << "stderr: " << parent_.Stderr();
    const std::string out = parent_.Stdout();
    port_ = std::stoi(out.substr(out.find(prefix) + prefix.size()));
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    if (parent_.Running()) {
      parent_.Signal(SIGTERM);
      ProcessResult stopped = parent_.Wait(std::chrono::seconds(20));
      EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
    }
  }

  // The parent holds a FHIR Patient and an OpenMRS REST visittype (format
  // openmrs-rest), written into its real store before it serves.
  void SeedParent(const NodeConfig& config) {
    auto store = OpenLocalStore(config.store, parent_dir_, config.node_id);
    ASSERT_TRUE(store.ok()) << store.status();
    WriteOp patient;
    patient.type = "Patient";
    patient.id = kPatientId;
    patient.body = kPatient;
    WriteOp visit;
    visit.type = "visittype";
    visit.id = kVisitTypeUuid;
    visit.format = ResourceFormat::kOpenmrsRest;
    visit.body = kVisitType;
    auto written = (*store)->Write(std::vector<WriteOp>{patient, visit}, WriteOptions{});
    ASSERT_TRUE(written.ok()) << written.status();
  }

  // The child's folder: fhirsync.json whose plugins section loads both real
  // modules, the parent's url and user, and the password file.
  NodeConfig WriteChild(const std::string& user, const std::string& password) {
    std::filesystem::create_directories(child_dir_);
    NodeConfig config;
    config.node_id = "child-1";
    config.parent.url = "http://127.0.0.1:" + std::to_string(port_);
    config.parent.user = user;
    config.parent.password_file = "parent.password";
    config.pull.types = {"Patient", "visittype"};
    config.plugins.dir = kPluginDir;
    PluginSpec fhir;
    fhir.name = "fhir";
    fhir.options["capability_statement"] = "require";
    PluginSpec rest;
    rest.name = "openmrs-rest";
    rest.options["types"] = "visittype";
    config.plugins.load = {fhir, rest};
    std::ofstream(child_dir_ + "/parent.password") << password;
    std::filesystem::permissions(child_dir_ + "/parent.password",
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::owner_write);
    Status saved = SaveNodeConfig(child_dir_, config);
    EXPECT_TRUE(saved.ok()) << saved;
    return config;
  }

  std::unique_ptr<SyncResourceManager> StartChild(const std::string& user = "child-1",
                                                  const std::string& password = "child-secret") {
    NodeConfig written = WriteChild(user, password);
    auto config = LoadNodeConfig(child_dir_);  // as the node itself would read it
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return nullptr;
    std::vector<std::string> warnings;
    auto manager = SyncResourceManager::Start(*config, child_dir_, &warnings);
    EXPECT_TRUE(manager.ok()) << manager.status();
    EXPECT_TRUE(warnings.empty()) << warnings.front();
    return manager.ok() ? std::move(*manager) : nullptr;
  }

  std::shared_ptr<TransportPlugin> TransportFor(SyncResourceManager& manager,
                                                const std::string& type, TransportOperation op,
                                                const std::string& expected_plugin) {
    auto route = manager.Find(type, op);
    EXPECT_TRUE(route.ok()) << route.status();
    if (!route.ok()) return nullptr;
    EXPECT_EQ(route->plugin, expected_plugin) << type;
    return route->transport;
  }

  TempDir tmp_{"fhirsync-transports"};
  std::string parent_dir_;
  std::string child_dir_;
  ChildProcess parent_;
  int port_ = 0;
};

TEST_F(ChildParentTest, ReadsAPatientByFhirAndAVisitTypeByRestFromOneParent) {
  auto manager = StartChild();
  ASSERT_NE(manager, nullptr);
  ASSERT_EQ(manager->plugins().size(), 2u);
  EXPECT_EQ(manager->plugins()[0].info.name, "fhir");
  EXPECT_EQ(manager->plugins()[0].info.file, kPluginDir + "/fhirsync-fhir.so");
  EXPECT_EQ(manager->plugins()[1].info.name, "openmrs-rest");
  // Chosen by capability: the parent's CapabilityStatement lists the FHIR
  // types it accepts (every R4 type, held or not), and the FHIR plugin
  // claims those, never the OpenMRS REST resources the parent also holds.
  EXPECT_THAT(manager->plugins()[0].capabilities.resource_types,
              ::testing::AllOf(::testing::Contains("Patient"), ::testing::Contains("Location"),
                               Not(::testing::Contains("visittype"))));

  auto fhir = TransportFor(*manager, "Patient", TransportOperation::kRead, "fhir");
  ASSERT_NE(fhir, nullptr);
  ReadResult patient = fhir->Read("Patient", kPatientId);
  ASSERT_TRUE(patient.status.ok()) << patient.status;
  EXPECT_EQ(patient.http_status, 200);
  EXPECT_EQ(patient.resource.version, "1");
  EXPECT_EQ(patient.resource.format, ResourceFormat::kFhirJson);
  EXPECT_THAT(patient.resource.body, HasSubstr(R"("family":"Kabir")"));
  EXPECT_GT(patient.resource.last_updated_ms, 0);

  auto rest = TransportFor(*manager, "visittype", TransportOperation::kRead, "openmrs-rest");
  ASSERT_NE(rest, nullptr);
  ReadResult visit = rest->Read("visittype", kVisitTypeUuid);
  ASSERT_TRUE(visit.status.ok()) << visit.status;
  EXPECT_EQ(visit.resource.version, "1");
  EXPECT_EQ(visit.resource.format, ResourceFormat::kOpenmrsRest);
  EXPECT_THAT(visit.resource.body, HasSubstr(R"("name":"Facility Visit")"));
  EXPECT_THAT(visit.resource.body,
              HasSubstr("/ws/rest/v1/visittype/" + std::string(kVisitTypeUuid)));
  EXPECT_GT(visit.resource.last_updated_ms, 0);

  auto many = TransportFor(*manager, "Patient", TransportOperation::kReadMany, "fhir");
  ReadManyResult both = many->ReadMany("Patient", {kPatientId, "nobody"});
  ASSERT_TRUE(both.status.ok()) << both.status;
  ASSERT_EQ(both.items.size(), 2u);
  EXPECT_TRUE(both.items[0].status.ok()) << both.items[0].status;
  EXPECT_EQ(both.items[1].status.code(), StatusCode::kNotFound);

  // Neither representation leaks into the other.
  EXPECT_EQ(rest->Read("visittype", kPatientId).status.code(), StatusCode::kNotFound);
  EXPECT_EQ(fhir->Read("Patient", kVisitTypeUuid).status.code(), StatusCode::kNotFound);
}

TEST_F(ChildParentTest, FhirWriteUpdateDeleteRoundTripWithAStaleVersion) {
  auto manager = StartChild();
  ASSERT_NE(manager, nullptr);
  auto create = TransportFor(*manager, "Patient", TransportOperation::kCreate, "fhir");
  auto update = TransportFor(*manager, "Patient", TransportOperation::kUpdate, "fhir");
  auto remove = TransportFor(*manager, "Patient", TransportOperation::kDelete, "fhir");
  ASSERT_TRUE(create && update && remove);

  RemoteResource made{"Patient", "pat-2", "", 0, false, ResourceFormat::kFhirJson,
                      R"({"resourceType":"Patient","id":"pat-2","gender":"male"})"};
  RemoteWriteResult created = create->Create(made);
  ASSERT_TRUE(created.status.ok()) << created.status;
  EXPECT_EQ(created.http_status, 201);
  EXPECT_EQ(created.version, "1");

  made.body = R"({"resourceType":"Patient","id":"pat-2","gender":"male","active":true})";
  RemoteWriteResult updated = update->Update(made, "1");
  ASSERT_TRUE(updated.status.ok()) << updated.status;
  EXPECT_EQ(updated.version, "2");

  made.body = R"({"resourceType":"Patient","id":"pat-2","gender":"other"})";
  RemoteWriteResult stale = update->Update(made, "1");
  EXPECT_EQ(stale.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.http_status, 412);
  EXPECT_THAT(stale.operation_outcome, HasSubstr("version"));
  EXPECT_FALSE(stale.ambiguous);
  ReadResult kept = update->Read("Patient", "pat-2");
  EXPECT_THAT(kept.resource.body, HasSubstr(R"("active":true)")) << "the stale write changed nothing";

  RemoteResource wrong_id{"Patient", "pat-2", "", 0, false, ResourceFormat::kFhirJson,
                          R"({"resourceType":"Patient","id":"pat-3"})"};
  RemoteWriteResult mismatch = update->Update(wrong_id, "2");
  EXPECT_EQ(mismatch.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mismatch.http_status, 400);
  EXPECT_THAT(mismatch.operation_outcome, HasSubstr("pat-3"));

  RemoteResource broken{"Patient", "pat-2", "", 0, false, ResourceFormat::kFhirJson,
                        R"({"resourceType":"Patient",)"};
  RemoteWriteResult unparsable = update->Update(broken, "2");
  EXPECT_EQ(unparsable.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unparsable.operation_outcome, HasSubstr("JSON"));

  RemoteWriteResult stale_delete = remove->Delete("Patient", "pat-2", "1");
  EXPECT_EQ(stale_delete.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale_delete.http_status, 412);
  RemoteWriteResult deleted = remove->Delete("Patient", "pat-2", "2");
  ASSERT_TRUE(deleted.status.ok()) << deleted.status;
  EXPECT_EQ(deleted.version, "3");
  ReadResult gone = update->Read("Patient", "pat-2");
  ASSERT_TRUE(gone.status.ok()) << gone.status;
  EXPECT_TRUE(gone.resource.deleted);
  EXPECT_EQ(gone.http_status, 410);
}

TEST_F(ChildParentTest, RestWriteUpdateVoidPurgeRoundTripWithAStaleVersion) {
  auto manager = StartChild();
  ASSERT_NE(manager, nullptr);
  auto create = TransportFor(*manager, "visittype", TransportOperation::kCreate, "openmrs-rest");
  auto update = TransportFor(*manager, "visittype", TransportOperation::kUpdate, "openmrs-rest");
  auto remove = TransportFor(*manager, "visittype", TransportOperation::kDelete, "openmrs-rest");
  ASSERT_TRUE(create && update && remove);
  const std::string uuid = "c0c579b0-8e59-401d-8a4a-976a0b183599";

  RemoteResource made{"visittype", uuid, "", 0, false, ResourceFormat::kOpenmrsRest,
                      R"({"name":"Return TB Clinic Visit","description":"Follow-up","retired":false})"};
  RemoteWriteResult created = create->Create(made);
  ASSERT_TRUE(created.status.ok()) << created.status;
  EXPECT_EQ(created.http_status, 201);
  EXPECT_EQ(created.version, "1");
  ReadResult read = update->Read("visittype", uuid);
  ASSERT_TRUE(read.status.ok()) << read.status;
  EXPECT_THAT(read.resource.body, HasSubstr("\"uuid\":\"" + uuid + "\""));

  // The body as read (with links and auditInfo) goes back as an update.
  RemoteResource changed = read.resource;
  changed.body = read.resource.body;
  changed.body.replace(changed.body.find("Follow-up"), 9, "Second visit");
  RemoteWriteResult updated = update->Update(changed, "1");
  ASSERT_TRUE(updated.status.ok()) << updated.status;
  EXPECT_EQ(updated.version, "2");

  RemoteWriteResult stale = update->Update(changed, "1");
  EXPECT_EQ(stale.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.http_status, 412);
  EXPECT_THAT(stale.operation_outcome, HasSubstr("current version is 2"));

  RemoteWriteResult duplicate = create->Create(made);
  EXPECT_EQ(duplicate.status.code(), StatusCode::kAborted);
  EXPECT_EQ(duplicate.http_status, 409);
  EXPECT_THAT(duplicate.operation_outcome, HasSubstr("already exists"));

  RemoteResource other_uuid{"visittype", uuid, "", 0, false, ResourceFormat::kOpenmrsRest,
                            R"({"uuid":"somebody-else","name":"x"})"};
  RemoteWriteResult mismatch = update->Update(other_uuid, "2");
  EXPECT_EQ(mismatch.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mismatch.http_status, 400);
  EXPECT_THAT(mismatch.operation_outcome, HasSubstr("does not match"));

  RemoteResource not_json{"visittype", uuid, "", 0, false, ResourceFormat::kOpenmrsRest, "name=x"};
  RemoteWriteResult refused = update->Update(not_json, "2");
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status.message(), HasSubstr("not valid JSON"));

  ReadResult absent = update->Read("visittype", "a8c5e9b7-0000-4000-8000-000000000000");
  EXPECT_EQ(absent.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(absent.http_status, 404);

  // An operator's forced retry: no expected version.
  RemoteWriteResult forced = update->Update(made, "");
  ASSERT_TRUE(forced.status.ok()) << forced.status;
  EXPECT_EQ(forced.version, "3");

  RemoteWriteResult stale_void = remove->Delete("visittype", uuid, "2");
  EXPECT_EQ(stale_void.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale_void.http_status, 412);
  RemoteWriteResult retired = remove->Delete("visittype", uuid, "3");
  ASSERT_TRUE(retired.status.ok()) << retired.status;
  EXPECT_EQ(retired.version, "4");
  ReadResult after = update->Read("visittype", uuid);
  ASSERT_TRUE(after.status.ok()) << after.status;
  EXPECT_THAT(after.resource.body, HasSubstr(R"("retired":true)"));
  EXPECT_THAT(after.resource.body, HasSubstr(R"("retireReason":"deleted on a fhirsync node")"));
}

TEST_F(ChildParentTest, PluginsCommandShowsBothPluginsAndTheRoutes) {
  WriteChild("child-1", "child-secret");
  ProcessResult shown = RunProcess({kBinary, "plugins", "--dir", child_dir_});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("fhir 1.0.0  (ABI 1.2, " + kPluginDir + "/fhirsync-fhir.so)"));
  EXPECT_THAT(shown.out, HasSubstr("openmrs-rest 1.0.0  (ABI 1.2, " + kPluginDir +
                                   "/fhirsync-openmrs-rest.so)"));
  EXPECT_THAT(shown.out, ::testing::ContainsRegex("formats +openmrs-rest"));
  EXPECT_THAT(shown.out, ::testing::ContainsRegex(
                             "Patient +fhir\\+json +fhir +priority 10 +read, read-many, create, "
                             "update, delete"));
  EXPECT_THAT(shown.out, ::testing::ContainsRegex(
                             "visittype +openmrs-rest +openmrs-rest +priority 0 +read, read-many"));
}

TEST_F(ChildParentTest, ARoleOrPasswordProblemIsReportedAsSuch) {
  auto manager = StartChild("viewer", "viewer-secret");
  ASSERT_NE(manager, nullptr);
  auto rest = TransportFor(*manager, "visittype", TransportOperation::kUpdate, "openmrs-rest");
  RemoteResource visit{"visittype", kVisitTypeUuid, "", 0, false, ResourceFormat::kOpenmrsRest,
                       R"({"name":"Renamed"})"};
  RemoteWriteResult denied = rest->Update(visit, "1");
  EXPECT_EQ(denied.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.http_status, 403);
  EXPECT_THAT(denied.operation_outcome, HasSubstr("viewer"));

  // A wrong password: the FHIR plugin, told to require the
  // CapabilityStatement, stops start-up naming the refusal.
  WriteChild("child-1", "wrong-password");
  auto config = LoadNodeConfig(child_dir_);
  ASSERT_TRUE(config.ok()) << config.status();
  auto refused = SyncResourceManager::Start(*config, child_dir_, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("HTTP 401"));
  EXPECT_THAT(refused.status().message(), HasSubstr("fhir"));
}

}  // namespace
}  // namespace fhirsync
