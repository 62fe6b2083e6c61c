// verify end to end: a parent NodeServer on 127.0.0.1 (port 0) over a real
// SQLite store answering GET /fhir/$digest, and a child store compared with
// it over HTTP, both in-process (the x10 set) and through the real
// `fhirsync verify` binary.

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/digest.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;
using ::fhirsync::testing::ProcessOptions;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::fhirsync::testing::TempDir;

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kTestData = FHIRSYNC_TEST_DATA;
constexpr char kUser[] = "verifier";
constexpr char kPassword[] = "s3cret-digest";

std::vector<WriteOp> LoadBulk(int copies) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(kTestData) / "fhir-r4-bulk")) {
    if (entry.path().extension() == ".ndjson") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<WriteOp> ops;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto info = InspectFhirBody(line);
      EXPECT_TRUE(info.ok()) << file << ": " << info.status().ToString();
      if (!info.ok()) continue;
      for (int k = 0; k < copies; ++k) {
        rapidjson::Document doc;
        doc.Parse(line.data(), line.size());
        std::string id = copies == 1 ? info->id : info->id + "-" + std::to_string(k);
        doc["id"].SetString(id.data(), static_cast<rapidjson::SizeType>(id.size()),
                            doc.GetAllocator());
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        doc.Accept(writer);
        WriteOp op;
        op.type = info->resource_type;
        op.id = id;
        op.body = buffer.GetString();
        ops.push_back(std::move(op));
      }
    }
  }
  return ops;
}

// A parent node: a SQLite store and a NodeServer with one read-only user.
class Parent {
 public:
  explicit Parent(const std::string& dir) {
    StoreConfig store_config;
    store_config.path = dir + "/store.sqlite";
    auto store = OpenLocalStore(store_config, "", "parent-node");
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    config_.node_id = "parent-node";
    auto user = MakeUser(kUser, kPassword, {"read"});
    EXPECT_TRUE(user.ok());
    config_.server.users.push_back(*user);
  }
  Status Start() {
    server_ = std::make_unique<NodeServer>(config_, *store_);
    return server_->Start();
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
  }
  LocalStore& store() { return *store_; }
  void Close() {
    Stop();
    store_.reset();
  }
  std::string url() const { return server_->base_url(); }

 private:
  NodeConfig config_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
};

WriteOp Changed(LocalStore& store, const std::string& type, const std::string& id) {
  auto current = store.Get(type, id);
  EXPECT_TRUE(current.ok()) << current.status().ToString();
  rapidjson::Document doc;
  doc.Parse(current->body.data(), current->body.size());
  doc.AddMember("language", "fr", doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  WriteOp op;
  op.type = type;
  op.id = id;
  op.body = buffer.GetString();
  return op;
}

TEST(VerifyIntegrationTest, TimesTenSetWithOneDifferenceNamesIt) {
  TempDir tmp("fhirsync-verify");
  std::vector<WriteOp> ops = LoadBulk(10);
  ASSERT_EQ(ops.size(), 59450u);
  {
    Parent loader(tmp.path());
    auto imported = loader.store().Import(ops, {.from_node = "root"}, 5000);
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    loader.Close();
  }
  // The child starts as an exact copy (a closed SQLite file, WAL folded in).
  fs::create_directories(tmp.Sub("child"));
  fs::copy_file(tmp.Sub("store.sqlite"), tmp.Sub("child/store.sqlite"));
  Parent parent(tmp.path());
  ASSERT_TRUE(parent.Start().ok());
  StoreConfig child_config;
  child_config.path = tmp.Sub("child/store.sqlite");
  auto child = OpenLocalStore(child_config, "", "");
  ASSERT_TRUE(child.ok()) << child.status().ToString();

  const WriteOp& victim = ops[ops.size() / 2 + 7];
  auto written = (*child)->Put(Changed(**child, victim.type, victim.id));
  ASSERT_TRUE(written.ok()) << written.status().ToString();

  auto peer = MakeHttpDigestPeer(parent.url(), kUser, kPassword);
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  VerifyOptions options;
  options.node_dir = "child";
  auto report = VerifyWithPeer(**child, **peer, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->findings.size(), 1u);
  EXPECT_EQ(report->findings[0].type, victim.type);
  EXPECT_EQ(report->findings[0].id, victim.id);
  EXPECT_EQ(report->findings[0].kind, VerifyDifference::kDifferent);
  EXPECT_TRUE(report->findings[0].local_change_queued);
  EXPECT_EQ(report->findings[0].fix_action, "push");
  EXPECT_EQ(report->local_resources, 59450);
  EXPECT_EQ(report->parent_resources, 59450);
  EXPECT_LE(report->entries_listed, 256);  // narrowed down, not copied
  std::cout << "[ figures  ] verify x10 (59,450 resources, 1 difference): " << report->seconds
            << " s, " << report->requests << " requests, " << report->ranges_compared
            << " ranges compared, " << report->entries_listed << " entries listed\n";
  parent.Stop();
}

// A child node folder made by the real binary, pointed at `parent_url`.
std::string MakeChild(const TempDir& tmp, const std::string& parent_url,
                      const std::string& password) {
  const std::string dir = tmp.Sub("child");
  ProcessResult init = RunProcess({kBinary, "init", "--dir", dir, "--node-id", "tablet-1"});
  EXPECT_EQ(init.exit_code, 0) << init.Describe() << init.err;
  auto config = LoadNodeConfig(dir);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  config->parent.url = parent_url;
  config->parent.user = kUser;
  config->parent.password_file = "parent.password";
  std::ofstream(dir + "/parent.password") << password << "\n";
  EXPECT_TRUE(SaveNodeConfig(dir, *config).ok());
  return dir;
}

ProcessResult Verify(const std::string& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{kBinary, "verify", "--dir", dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunProcess(argv);
}

TEST(VerifyIntegrationTest, CommandReportsSyncAndNamesDifferencesWithFixes) {
  TempDir tmp("fhirsync-verify-cli");
  Parent parent(tmp.path());
  std::vector<WriteOp> ops = LoadBulk(1);
  std::vector<WriteOp> patients;
  for (const WriteOp& op : ops) {
    if (op.type == "Patient") patients.push_back(op);
  }
  ASSERT_GT(patients.size(), 10u);
  ASSERT_TRUE(parent.store().Import(patients, {.from_node = "root"}).ok());
  ASSERT_TRUE(parent.Start().ok());
  const std::string child = MakeChild(tmp, parent.url(), kPassword);
  {
    auto config = LoadNodeConfig(child);
    ASSERT_TRUE(config.ok());
    auto store = OpenLocalStore(config->store, child, config->node_id);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Import(patients, {.from_node = "parent-node"}).ok());
  }

  ProcessResult same = Verify(child, {"--json"});
  ASSERT_EQ(same.exit_code, 0) << same.Describe() << same.err << same.out;
  rapidjson::Document doc;
  doc.Parse(same.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << same.out;
  EXPECT_TRUE(doc["in_sync"].GetBool());
  EXPECT_EQ(doc["findings"].Size(), 0u);
  EXPECT_EQ(doc["local_resources"].GetInt64(), static_cast<std::int64_t>(patients.size()));

  // One patient changed on the parent, one only on the parent.
  ASSERT_TRUE(parent.store().Put(Changed(parent.store(), "Patient", patients[3].id)).ok());
  WriteOp extra = patients[0];
  extra.id = "zz-only-on-parent";
  extra.body = R"({"resourceType":"Patient","id":"zz-only-on-parent"})";
  ASSERT_TRUE(parent.store().Put(extra).ok());

  ProcessResult differ = Verify(child, {"--json", "--type", "Patient"});
  ASSERT_EQ(differ.exit_code, 1) << differ.Describe() << differ.err;
  doc.Parse(differ.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << differ.out;
  EXPECT_FALSE(doc["in_sync"].GetBool());
  ASSERT_EQ(doc["findings"].Size(), 2u) << differ.out;
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& f : doc["findings"].GetArray()) {
    got.emplace_back(f["id"].GetString(), f["kind"].GetString());
    EXPECT_STREQ(f["fix"].GetString(), "pull");
    EXPECT_EQ(std::string(f["command"].GetString()), "fhirsync sync --dir " + child + " --pull --once");
  }
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, std::string>> want{{patients[3].id, "different"},
                                                        {"zz-only-on-parent", "missing-here"}};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);

  // The text form names the resource and the command, and times itself.
  ProcessResult text = Verify(child);
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("Patient/zz-only-on-parent is on the parent"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("2 difference(s)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" s\n"), std::string::npos) << text.out;

  // A filter on a type neither side holds: nothing to compare, in sync.
  ProcessResult other = Verify(child, {"--type", "Observation"});
  EXPECT_EQ(other.exit_code, 0) << other.out << other.err;
  parent.Stop();
}

TEST(VerifyIntegrationTest, CommandExplainsWhyItCannotVerify) {
  TempDir tmp("fhirsync-verify-err");
  Parent parent(tmp.path());
  ASSERT_TRUE(parent.Start().ok());
  const std::string child = MakeChild(tmp, parent.url(), "wrong-password");
  ProcessResult denied = Verify(child);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("HTTP 401"), std::string::npos) << denied.err;
  EXPECT_NE(denied.err.find("$digest"), std::string::npos) << denied.err;

  ProcessResult bad_since = Verify(child, {"--since", "yesterday"});
  EXPECT_EQ(bad_since.exit_code, 2);
  EXPECT_NE(bad_since.err.find("--since"), std::string::npos) << bad_since.err;

  const std::string url = parent.url();
  parent.Stop();
  ProcessResult down = Verify(child);
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("verify against " + url), std::string::npos) << down.err;

  auto config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->parent.url.clear();
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  ProcessResult orphan = Verify(child);
  EXPECT_EQ(orphan.exit_code, 1);
  EXPECT_NE(orphan.err.find("no parent to verify against"), std::string::npos) << orphan.err;
}

}  // namespace
}  // namespace fhirsync
