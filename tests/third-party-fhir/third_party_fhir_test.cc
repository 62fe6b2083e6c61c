// A child follows a FHIR R4 server written by others (Medplum's FHIR router
// and in-memory repository from npm, tests/third-party-fhir/server.cjs),
// set up with `fhirsync init --parent <FHIR base> --feed fhir-history` only:
// it pulls real Synthea resources through _history (walked per type: the
// server has no system-level history), then a later update and a delete,
// pushes a create and an update back, and an edit made on the server in
// between is seen as a conflict. Real processes: node and the fhirsync
// binary; real HTTP on 127.0.0.1 with a port the server chose.
//
// The server is installed by the third_party_fhir ctest fixture
// (install.sh: npm ci); without it this test fails, naming the fixture.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::fhirsync::testing::ChildProcess;
using ::fhirsync::testing::ProcessOptions;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::fhirsync::testing::RunProgram;
using ::testing::HasSubstr;

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kTestData = std::string(FHIRSYNC_TEST_DATA) + "/fhir-r4-bulk";
const std::string kServerDir = THIRD_PARTY_FHIR_DIR;
const std::vector<std::string> kTypes = {"Patient", "Organization", "Practitioner", "Location"};
const char kTypeList[] = "Patient,Organization,Practitioner,Location";

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  return RunProgram(kBinary, args, stdin_data);
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

std::int64_t Field(const rapidjson::Document& doc, const char* name) {
  if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsInt64()) return -1;
  return doc[name].GetInt64();
}

// The ids in one of the test data's NDJSON files, in order.
std::vector<std::string> IdsOf(const std::string& type) {
  std::vector<std::string> ids;
  std::ifstream in(kTestData + "/" + type + ".000.ndjson");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    rapidjson::Document doc = Json(line);
    if (doc.IsObject() && doc.HasMember("id")) ids.push_back(doc["id"].GetString());
  }
  return ids;
}

struct Answer {
  int status = 0;
  std::string body;
  std::string etag;
};

class ThirdPartyFhirTest : public ::testing::Test {
 protected:
  ThirdPartyFhirTest() : tmp_("fhirsync-third-party") {}

  void SetUp() override {
    const std::string script = kServerDir + "/server.cjs";
    ASSERT_TRUE(std::filesystem::exists(kServerDir + "/node_modules/@medplum/fhir-router"))
        << "the third-party FHIR server is not installed in " << kServerDir
        << ": the ctest fixture third_party_fhir_install (tests/third-party-fhir/install.sh, "
           "npm ci) installs it; run ctest with it, or that script by hand";
    std::string error;
    ASSERT_TRUE(server_.Start({NodeBinary(), script, "--load", kTestData, "--types", kTypeList},
                              ProcessOptions{}, &error))
        << error;
    ASSERT_TRUE(server_.WaitForStdout("listening ", std::chrono::seconds(60)))
        << "the FHIR server did not start: " << server_.Stderr();
    std::istringstream out(server_.Stdout());
    std::string word;
    out >> word >> port_;
    ASSERT_GT(port_, 0) << server_.Stdout();
    base_ = "http://127.0.0.1:" + std::to_string(port_) + "/fhir/R4";
  }

  void TearDown() override {
    if (server_.Running()) {
      server_.Signal(SIGTERM);
      server_.Wait(std::chrono::seconds(10));
    }
  }

  // `node` on the PATH (ChildProcess starts a path, not a name).
  static std::string NodeBinary() {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::filesystem::path candidate = std::filesystem::path(dir) / "node";
      if (!dir.empty() && std::filesystem::exists(candidate)) return candidate.string();
    }
    return "node (not found on the PATH)";
  }

  // One request to the server, as another client of it would send.
  Answer Http(const std::string& method, const std::string& path, const std::string& body = "") {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, "/fhir/R4/" + path, "HTTP/1.1");
    if (!body.empty()) {
      request.setContentType("application/fhir+json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    std::ostream& os = session.sendRequest(request);
    os << body;
    Poco::Net::HTTPResponse response;
    std::istream& is = session.receiveResponse(response);
    Answer answer;
    answer.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(is, answer.body);
    answer.etag = response.get("ETag", "");
    return answer;
  }

  std::string Gender(const std::string& dir, const std::string& id) {
    ProcessResult r = Fhirsync({"get", "Patient/" + id, "--dir", dir});
    if (r.exit_code != 0) return "<" + r.err + ">";
    rapidjson::Document doc = Json(r.out);
    return doc.IsObject() && doc.HasMember("gender") ? doc["gender"].GetString() : "<none>";
  }

  rapidjson::Document Pull(const std::string& dir) {
    ProcessResult r = Fhirsync({"sync", "--dir", dir, "--pull", "--once", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe() << ": " << r.err;
    return Json(r.out);
  }

  rapidjson::Document Push(const std::string& dir) {
    ProcessResult r = Fhirsync({"sync", "--dir", dir, "--push", "--once", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe() << ": " << r.out << r.err;
    return Json(r.out);
  }

  void PutLocal(const std::string& dir, const std::string& body) {
    ProcessResult r = Fhirsync({"put", "-", "--dir", dir}, body);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Patient `id` as the server holds it, with `gender` changed.
  std::string PatientWithGender(const std::string& id, const std::string& gender) {
    Answer read = Http("GET", "Patient/" + id);
    EXPECT_EQ(read.status, 200) << read.body;
    rapidjson::Document doc = Json(read.body);
    EXPECT_TRUE(doc.IsObject());
    if (!doc.IsObject()) return "{}";
    doc.RemoveMember("meta");
    doc.RemoveMember("gender");
    doc.AddMember("gender", rapidjson::Value(gender.c_str(), doc.GetAllocator()),
                  doc.GetAllocator());
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
    return buffer.GetString();
  }

  fhirsync::testing::TempDir tmp_;
  ChildProcess server_;
  int port_ = 0;
  std::string base_;
};

TEST_F(ThirdPartyFhirTest, ChildPullsPushesAndSeesConflictsWithAFhirServerThatIsNotFhirsync) {
  std::size_t expected = 0;
  for (const std::string& type : kTypes) expected += IdsOf(type).size();
  ASSERT_GT(expected, 100u);
  const std::vector<std::string> patients = IdsOf("Patient");
  const std::vector<std::string> organizations = IdsOf("Organization");
  ASSERT_GE(patients.size(), 3u);

  // The FHIR base and nothing else names the parent (the server ignores the
  // credentials init asks for).
  const std::string child = tmp_.path() + "/child";
  ProcessResult init = Fhirsync({"init", "--dir", child, "--node-id", "clinic", "--parent", base_,
                                 "--feed", "fhir-history", "--types", kTypeList, "--parent-user",
                                 "anyone"},
                                "unused\n");
  ASSERT_EQ(init.exit_code, 0) << init.err;

  // Every resource through each type's _history (the server's system
  // _history is a search that finds nothing).
  rapidjson::Document first = Pull(child);
  EXPECT_EQ(Field(first, "applied"), static_cast<std::int64_t>(expected)) << init.out;
  auto config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->parent.node_id, "127.0.0.1-" + std::to_string(port_) + "-fhir-R4");
  const std::string original_gender = Gender(child, patients[0]);
  ASSERT_TRUE(original_gender == "male" || original_gender == "female") << original_gender;
  const std::string other_gender = original_gender == "male" ? "female" : "male";

  // A later update and a delete on the server reach the child.
  Answer update = Http("PUT", "Patient/" + patients[0], PatientWithGender(patients[0], other_gender));
  ASSERT_EQ(update.status, 200) << update.body;
  Answer removed = Http("DELETE", "Organization/" + organizations[0]);
  ASSERT_LT(removed.status, 300) << removed.body;
  rapidjson::Document second = Pull(child);
  EXPECT_EQ(Field(second, "applied"), 2) << "a second pull applies only the two new changes";
  EXPECT_EQ(Gender(child, patients[0]), other_gender);
  EXPECT_NE(Fhirsync({"get", "Organization/" + organizations[0], "--dir", child}).exit_code, 0);
  // status reads the server's _history for how far behind the child is.
  ProcessResult in_step = Fhirsync({"status", "--dir", child});
  EXPECT_EQ(in_step.exit_code, 0) << in_step.out << in_step.err;
  EXPECT_THAT(in_step.out, HasSubstr("(node 127.0.0.1-" + std::to_string(port_) + "-fhir-R4)"));
  EXPECT_THAT(in_step.out, HasSubstr("nothing new is waiting on the parent"));

  // A create (at the child's id) and an update go back to the server.
  PutLocal(child, R"({"resourceType":"Patient","id":"clinic-new-1","gender":"female",)"
                  R"("name":[{"family":"Nakamura","given":["Aiko"]}]})");
  ProcessResult local = Fhirsync({"get", "Patient/" + patients[1], "--dir", child});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  const std::string second_gender = Gender(child, patients[1]);
  const std::string flipped = second_gender == "male" ? "female" : "male";
  PutLocal(child, PatientWithGender(patients[1], flipped));
  rapidjson::Document pushed = Push(child);
  EXPECT_EQ(Field(pushed, "sent"), 2) << "push summary";
  EXPECT_EQ(Field(pushed, "conflicts"), 0);
  Answer created = Http("GET", "Patient/clinic-new-1");
  EXPECT_EQ(created.status, 200) << created.body;
  EXPECT_THAT(created.body, HasSubstr("Nakamura"));
  Answer updated = Http("GET", "Patient/" + patients[1]);
  EXPECT_THAT(updated.body, HasSubstr("\"gender\":\"" + flipped + "\""));

  // The server's copy changes under the child's edit of the same field: the
  // update's If-Match fails (412), the two cannot be merged, and the push
  // reports a conflict, leaving the server's copy alone. (An edit of another
  // field would be merged: the push service's three-way merge.)
  const std::string third = patients[2];
  const std::string third_gender = Gender(child, third);
  const std::string server_gender = third_gender == "male" ? "female" : "male";
  Answer server_edit = Http("PUT", "Patient/" + third, PatientWithGender(third, server_gender));
  ASSERT_EQ(server_edit.status, 200) << server_edit.body;
  {
    ProcessResult r = Fhirsync({"get", "Patient/" + third, "--dir", child});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document edit = Json(r.out);
    ASSERT_TRUE(edit.IsObject());
    edit.RemoveMember("meta");
    edit.RemoveMember("gender");
    edit.AddMember("gender", "unknown", edit.GetAllocator());
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    edit.Accept(writer);
    PutLocal(child, buffer.GetString());
  }
  rapidjson::Document conflicted = Push(child);
  {
    rapidjson::StringBuffer text;
    rapidjson::Writer<rapidjson::StringBuffer> w(text);
    conflicted.Accept(w);
    EXPECT_EQ(Field(conflicted, "conflicts"), 1) << "push summary: " << text.GetString();
  }
  ProcessResult conflicts = Fhirsync({"conflicts", "--json", "--dir", child});
  ASSERT_EQ(conflicts.exit_code, 0) << conflicts.err;
  EXPECT_THAT(conflicts.out, HasSubstr(third));
  Answer kept = Http("GET", "Patient/" + third);
  EXPECT_THAT(kept.body, HasSubstr("\"gender\":\"" + server_gender + "\""));

  // verify says what it cannot do against a server without $digest.
  ProcessResult verify = Fhirsync({"verify", "--dir", child});
  EXPECT_NE(verify.exit_code, 0);
  EXPECT_THAT(verify.err, HasSubstr("not fhirsync"));
}

}  // namespace
}  // namespace fhirsync
