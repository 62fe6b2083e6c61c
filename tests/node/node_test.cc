// fhirsync::Node against a real parent: a NodeServer in this process on
// 127.0.0.1 (port 0) over a real SQLite store, children whose folders are
// made by `fhirsync init --parent` (the real program) or by the API, and the
// real fhir plugin module. A child puts a resource and pushes it; a second
// child pulls it, learns the parent's node id, reports its status and
// verifies; the daemon pushes a write when triggered; and the facade's
// refusals name the problem.

#include "fhirsync/node.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::fhirsync::testing::ProcessOptions;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::fhirsync::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kParentId[] = "district-1";
constexpr char kPatient[] =
    R"({"resourceType":"Patient","id":"amina","name":[{"family":"Diallo"}]})";

std::string Secret(const std::string& user) { return user + "-secret"; }

// The parent: a node folder made by the API, served in-process.
class Parent {
 public:
  explicit Parent(const std::string& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    config_.node_id = kParentId;
    for (const char* child : {"clinic-a", "clinic-b"}) {
      StatusOr<UserConfig> user = MakeUser(child, Secret(child), {"read", "write"});
      EXPECT_TRUE(user.ok()) << user.status();
      if (user.ok()) config_.server.users.push_back(*user);
    }
    EXPECT_TRUE(SaveNodeConfig(dir_, config_).ok());
    StatusOr<std::unique_ptr<LocalStore>> store =
        OpenLocalStore(config_.store, dir_, config_.node_id);
    EXPECT_TRUE(store.ok()) << store.status();
    if (store.ok()) store_ = std::move(store).value();
  }

  bool Start() {
    if (!store_) return false;
    server_ = std::make_unique<NodeServer>(config_, *store_);
    Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started;
    return started.ok();
  }

  std::string url() const { return server_->base_url(); }
  LocalStore& store() { return *store_; }

 private:
  std::string dir_;
  NodeConfig config_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
};

// A child folder made by the real program, as an operator would.
bool InitChildByProgram(const std::string& dir, const std::string& node_id,
                        const std::string& parent_url) {
  ProcessOptions options;
  options.stdin_data = Secret(node_id) + "\n";
  ProcessResult r = RunProcess({FHIRSYNC_BINARY, "init", "--dir", dir, "--node-id", node_id,
                                "--parent", parent_url, "--parent-user", node_id},
                               options);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0;
}

// A child folder made by the API, as a host would.
bool InitChildByApi(const std::string& dir, const std::string& node_id,
                    const std::string& parent_url) {
  std::filesystem::create_directories(dir);
  NodeConfig config;
  config.node_id = node_id;
  config.parent.url = parent_url;
  config.parent.user = node_id;
  config.parent.password_file = "parent.password";
  config.plugins.dir = FHIRSYNC_PLUGIN_DIR;
  PluginSpec fhir;
  fhir.name = "fhir";
  fhir.options["feed"] = "atom";  // it reads the parent's change feed
  config.plugins.load = {fhir};
  std::ofstream(dir + "/parent.password") << Secret(node_id);
  std::filesystem::permissions(dir + "/parent.password",
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write);
  Status saved = SaveNodeConfig(dir, config);
  EXPECT_TRUE(saved.ok()) << saved;
  return saved.ok();
}

std::unique_ptr<Node> OpenOrFail(const std::string& dir, std::vector<std::string>* warnings) {
  NodeOptions options;
  options.on_warning = [warnings](const std::string& line) { warnings->push_back(line); };
  StatusOr<std::unique_ptr<Node>> node = Node::Open(dir, options);
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? std::move(node).value() : nullptr;
}

WriteOp PatientOp(const std::string& body) {
  WriteOp op;
  op.type = "Patient";
  op.id = "amina";
  op.body = body;
  return op;
}

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(parent_.Start()); }

  TempDir tmp_{"fhirsync-node"};
  Parent parent_{tmp_.Sub("parent")};
  std::vector<std::string> warnings_;
};

TEST_F(NodeTest, PushesFromOneChildPullsIntoAnotherReportsStatusAndVerifies) {
  const std::string dir_a = tmp_.Sub("clinic-a");
  const std::string dir_b = tmp_.Sub("clinic-b");
  ASSERT_TRUE(InitChildByProgram(dir_a, "clinic-a", parent_.url()));
  ASSERT_TRUE(InitChildByApi(dir_b, "clinic-b", parent_.url()));

  // Clinic A writes and pushes.
  std::unique_ptr<Node> a = OpenOrFail(dir_a, &warnings_);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dir(), dir_a);
  EXPECT_EQ(a->config().node_id, "clinic-a");
  StatusOr<WriteResult> written = a->store().Put(PatientOp(kPatient));
  ASSERT_TRUE(written.ok()) << written.status();
  StatusOr<PushReport> pushed = a->Push();
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->sent, 1);
  EXPECT_EQ(pushed->dead_lettered, 0);
  EXPECT_FALSE(pushed->paused);
  StatusOr<Resource> on_parent = parent_.store().Get("Patient", "amina");
  ASSERT_TRUE(on_parent.ok()) << on_parent.status();
  EXPECT_THAT(on_parent->body, HasSubstr("Diallo"));

  // Clinic B pulls it and learns who its parent is, in memory and on disk.
  std::unique_ptr<Node> b = OpenOrFail(dir_b, &warnings_);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ParentNodeIdOrDefault(), "parent");
  std::int64_t progress_calls = 0;
  PullRunOptions pull;
  pull.progress = [&progress_calls](const PullSummary&) { ++progress_calls; };
  StatusOr<PullSummary> pulled = b->Pull(pull);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->applied, 1);
  EXPECT_TRUE(pulled->at_head);
  EXPECT_GE(progress_calls, 1);
  StatusOr<Resource> on_b = b->store().Get("Patient", "amina");
  ASSERT_TRUE(on_b.ok()) << on_b.status();
  EXPECT_THAT(on_b->body, HasSubstr("Diallo"));
  EXPECT_EQ(b->config().parent.node_id, kParentId);
  EXPECT_EQ(b->ParentNodeIdOrDefault(), kParentId);
  StatusOr<NodeConfig> saved = LoadNodeConfig(dir_b);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->parent.node_id, kParentId);

  // Its status: the parent answered, nothing waits, nothing is behind.
  StatusOr<NodeStatus> status = b->GetStatus(5000);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->observed.parent_unreachable, "");
  EXPECT_EQ(status->observed.parent_node_id, kParentId);
  ASSERT_TRUE(status->observed.pull_lag_changes.has_value());
  EXPECT_EQ(*status->observed.pull_lag_changes, 0);
  EXPECT_TRUE(status->observed.pending.empty());
  EXPECT_TRUE(status->report.in_sync) << ::testing::PrintToString(status->report.lines);

  // And verify agrees: one resource on each side, the same.
  StatusOr<VerifyReport> verified = b->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->in_sync());
  EXPECT_EQ(verified->local_resources, 1);
  EXPECT_EQ(verified->parent_resources, 1);

  // A change on the parent that B has not pulled: status and verify see it.
  WriteOp changed = PatientOp(
      R"({"resourceType":"Patient","id":"amina","name":[{"family":"Diallo-Sow"}]})");
  WriteOptions from_elsewhere;
  ASSERT_TRUE(parent_.store().Write(std::vector<WriteOp>{changed}, from_elsewhere).ok());
  status = b->GetStatus(5000);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(status->observed.pull_lag_changes.has_value());
  EXPECT_EQ(*status->observed.pull_lag_changes, 1);
  EXPECT_FALSE(status->report.in_sync);
  verified = b->Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_EQ(verified->findings.size(), 1u);
  EXPECT_EQ(verified->findings[0].kind, VerifyDifference::kDifferent);
  EXPECT_EQ(verified->findings[0].fix_action, "pull");
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

TEST_F(NodeTest, TheDaemonPushesATriggeredWriteAndStopsWithAReport) {
  const std::string dir = tmp_.Sub("clinic-a");
  ASSERT_TRUE(InitChildByApi(dir, "clinic-a", parent_.url()));
  std::unique_ptr<Node> node = OpenOrFail(dir, &warnings_);
  ASSERT_NE(node, nullptr);

  std::mutex mutex;
  std::vector<std::string> sides;
  DaemonRunOptions options;
  options.pull = false;  // push only: the write must travel by the trigger
  options.watch_store = false;
  options.on_step = [&](const char* side, const StatusOr<SyncStepResult>&) {
    std::lock_guard<std::mutex> lock(mutex);
    sides.push_back(side);
  };
  ASSERT_TRUE(node->StartDaemon(options).ok());
  // One daemon per node, and no pass of its own beside it.
  EXPECT_EQ(node->StartDaemon(options).code(), StatusCode::kFailedPrecondition);
  StatusOr<PushReport> beside = node->Push();
  ASSERT_FALSE(beside.ok());
  EXPECT_EQ(beside.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(beside.status().message(), HasSubstr("daemon runs"));

  ASSERT_TRUE(node->store().Put(PatientOp(kPatient)).ok());
  node->TriggerPush();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool arrived = false;
  while (!arrived && std::chrono::steady_clock::now() < deadline) {
    arrived = parent_.store().Get("Patient", "amina").ok();
    if (!arrived) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(arrived) << "the daemon did not push the write within 60 s";
  SyncDaemonReport report = node->StopDaemon();
  EXPECT_GE(report.push.moved, 1);
  EXPECT_EQ(report.pull.steps, 0);
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_THAT(sides, ::testing::Contains("push"));
    EXPECT_THAT(sides, ::testing::Not(::testing::Contains("pull")));
  }
  // Stopped: a push of its own runs again, with nothing left to send.
  StatusOr<PushReport> after = node->Push();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->sent, 0);
  EXPECT_EQ(node->StopDaemon().push.moved, 0);  // idempotent
}

TEST_F(NodeTest, RefusalsNameTheProblem) {
  // No node here at all.
  StatusOr<std::unique_ptr<Node>> missing = Node::Open(tmp_.Sub("nothing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("fhirsync init"));

  // A node without a parent: nothing to pull from, push to or verify with;
  // its status is what its store knows.
  const std::string root = tmp_.Sub("root");
  std::filesystem::create_directories(root);
  NodeConfig config;
  config.node_id = "root-1";
  ASSERT_TRUE(SaveNodeConfig(root, config).ok());
  std::unique_ptr<Node> node = OpenOrFail(root, &warnings_);
  ASSERT_NE(node, nullptr);
  StatusOr<PullSummary> pulled = node->Pull();
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(pulled.status().message(), HasSubstr("has no parent"));
  StatusOr<PushReport> pushed = node->Push();
  ASSERT_FALSE(pushed.ok());
  EXPECT_THAT(pushed.status().message(), HasSubstr("has no parent"));
  StatusOr<VerifyReport> verified = node->Verify();
  ASSERT_FALSE(verified.ok());
  EXPECT_THAT(verified.status().message(), HasSubstr("no parent to verify against"));
  StatusOr<const SyncResourceManager*> transports = node->Transports();
  ASSERT_FALSE(transports.ok());
  EXPECT_EQ(transports.status().code(), StatusCode::kFailedPrecondition);
  StatusOr<NodeStatus> status = node->GetStatus(5000);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_FALSE(status->report.has_parent);

  // Pulling switched off in the configuration.
  const std::string one_way = tmp_.Sub("one-way");
  ASSERT_TRUE(InitChildByApi(one_way, "clinic-a", parent_.url()));
  StatusOr<NodeConfig> child = LoadNodeConfig(one_way);
  ASSERT_TRUE(child.ok());
  child->pull.enabled = false;
  ASSERT_TRUE(SaveNodeConfig(one_way, *child).ok());
  std::unique_ptr<Node> pusher = OpenOrFail(one_way, &warnings_);
  ASSERT_NE(pusher, nullptr);
  pulled = pusher->Pull();
  ASSERT_FALSE(pulled.ok());
  EXPECT_THAT(pulled.status().message(), HasSubstr("pull.enabled is false"));
  DaemonRunOptions both;
  Status daemon = pusher->StartDaemon(both);
  EXPECT_EQ(daemon.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(daemon.message(), HasSubstr("pull.enabled is false"));
}

TEST_F(NodeTest, AParentThatIsAwayIsAnObservationForStatusAndAnErrorForPull) {
  const std::string dir = tmp_.Sub("clinic-b");
  // A port nothing listens on: the parent's own, after it is gone.
  std::string away;
  {
    Parent gone(tmp_.Sub("gone"));
    ASSERT_TRUE(gone.Start());
    away = gone.url();
  }
  ASSERT_TRUE(InitChildByApi(dir, "clinic-b", away));
  std::unique_ptr<Node> node = OpenOrFail(dir, &warnings_);
  ASSERT_NE(node, nullptr);
  StatusOr<NodeStatus> status = node->GetStatus(2000);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_NE(status->observed.parent_unreachable, "");
  EXPECT_FALSE(status->report.in_sync);
  StatusOr<PullSummary> pulled = node->Pull();
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kUnavailable) << pulled.status();
}

TEST_F(NodeTest, TheParentLinkAsksAnHttpParentAndSaysWhyNotAPluginOnlyOne) {
  const std::string dir = tmp_.Sub("clinic-a");
  ASSERT_TRUE(InitChildByApi(dir, "clinic-a", parent_.url()));
  std::unique_ptr<Node> node = OpenOrFail(dir, &warnings_);
  ASSERT_NE(node, nullptr);
  StatusOr<const ParentLink*> link = node->Parent();
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_TRUE((*link)->speaks_http());
  StatusOr<std::string> named = (*link)->FetchNodeId(5000);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(*named, kParentId);
  EXPECT_TRUE((*link)->Probe(5000).ok());
  // Made once: the same link every time.
  EXPECT_EQ(*node->Parent(), *link);

  // The wrong password: the parent refuses, and says so.
  NodeConfig wrong = node->config();
  wrong.parent.user = "nobody";
  StatusOr<std::unique_ptr<ParentLink>> refused = ParentLink::Create(wrong, dir);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ((*refused)->Probe(5000).code(), StatusCode::kUnauthenticated);

  // A parent reached only through plugins (the folder plugin's file://).
  NodeConfig folder = node->config();
  folder.parent.url = "file://" + tmp_.Sub("usb");
  StatusOr<std::unique_ptr<ParentLink>> plugins_only = ParentLink::Create(folder, dir);
  ASSERT_TRUE(plugins_only.ok()) << plugins_only.status();
  EXPECT_FALSE((*plugins_only)->speaks_http());
  StatusOr<std::string> unnamed = (*plugins_only)->FetchNodeId();
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(unnamed.status().message(), HasSubstr("reached only through plugins"));
  StatusOr<std::unique_ptr<DigestPeer>> peer = (*plugins_only)->MakeDigestPeer();
  ASSERT_FALSE(peer.ok());
  EXPECT_THAT(peer.status().message(), HasSubstr("verify against a node that serves"));

  // No parent at all.
  NodeConfig root = node->config();
  root.parent.url.clear();
  StatusOr<std::unique_ptr<ParentLink>> none = ParentLink::Create(root, dir);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.status().message(), HasSubstr("has no parent"));
}

}  // namespace
}  // namespace fhirsync
