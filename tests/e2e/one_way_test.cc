// One-way sync with real processes: a child with push.enabled=false only
// mirrors its parent, a child with pull.enabled=false only sends; what they
// hold back is kept (queued, not lost) and goes once the direction is
// turned on again.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/sync_node.h"
#include "fhirsync/config.h"
#include "support/temp_dir.h"

namespace fhirsync::e2e {
namespace {

using ::testing::HasSubstr;

std::string Patient(const std::string& id) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":"One-Way"}]})";
}

void SetDirections(const SyncNode& node, bool pull, bool push) {
  StatusOr<NodeConfig> config = LoadNodeConfig(node.dir());
  ASSERT_TRUE(config.ok()) << config.status();
  config->pull.enabled = pull;
  config->push.enabled = push;
  ASSERT_TRUE(SaveNodeConfig(node.dir(), *config).ok());
}

class OneWayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.InitRoot());
    ASSERT_TRUE(root_.AdmitChild(mirror_.node_id()));
    ASSERT_TRUE(root_.AdmitChild(sender_.node_id()));
    ASSERT_TRUE(root_.Serve());
    ASSERT_TRUE(mirror_.InitChild(root_));
    ASSERT_TRUE(sender_.InitChild(root_));
    SetDirections(mirror_, /*pull=*/true, /*push=*/false);
    SetDirections(sender_, /*pull=*/false, /*push=*/true);
    ASSERT_TRUE(root_.Put(Patient("from-root")));
    ASSERT_TRUE(mirror_.Put(Patient("from-mirror")));
    ASSERT_TRUE(sender_.Put(Patient("from-sender")));
  }

  std::set<std::string> Keys(const SyncNode& node) {
    std::set<std::string> keys;
    for (const auto& [key, body] : node.ReadContents()) keys.insert(key);
    return keys;
  }

  testing::TempDir tmp_{"fhirsync-e2e-one-way"};
  SyncNode root_{tmp_.Sub("root"), "root"};
  SyncNode mirror_{tmp_.Sub("mirror"), "mirror"};
  SyncNode sender_{tmp_.Sub("sender"), "sender"};
};

TEST_F(OneWayTest, EachDirectionCanBeTurnedOffAndWhatWaitsIsKept) {
  // Asking for a direction that is off is an error naming the key.
  SyncRun push_only = mirror_.Sync(/*pull=*/false, /*push=*/true);
  EXPECT_EQ(push_only.process.exit_code, 1) << push_only.Describe();
  EXPECT_THAT(push_only.process.err, HasSubstr("push.enabled is false"));
  SyncRun pull_only = sender_.Sync(/*pull=*/true, /*push=*/false);
  EXPECT_EQ(pull_only.process.exit_code, 1) << pull_only.Describe();
  EXPECT_THAT(pull_only.process.err, HasSubstr("pull.enabled is false"));

  // `sync --once` naming no side runs the side that is on, twice over.
  for (int round = 0; round < 2; ++round) {
    SyncRun mirror = mirror_.SyncAsConfigured();
    EXPECT_EQ(mirror.process.exit_code, 0) << mirror.Describe();
    EXPECT_TRUE(mirror.pulled) << mirror.Describe();
    EXPECT_FALSE(mirror.pushed) << mirror.Describe();
    SyncRun sender = sender_.SyncAsConfigured();
    EXPECT_EQ(sender.process.exit_code, 0) << sender.Describe();
    EXPECT_FALSE(sender.pulled) << sender.Describe();
    EXPECT_TRUE(sender.pushed) << sender.Describe();
    EXPECT_EQ(sender.push["sent"], round == 0 ? 1 : 0) << sender.Describe();
  }
  EXPECT_EQ(Keys(root_), (std::set<std::string>{"Patient/from-root", "Patient/from-sender"}));
  // The mirror got the root's and the sender's resources, sent nothing.
  EXPECT_EQ(Keys(mirror_), (std::set<std::string>{"Patient/from-mirror", "Patient/from-root",
                                                  "Patient/from-sender"}));
  EXPECT_EQ(Keys(sender_), (std::set<std::string>{"Patient/from-sender"}));
  // The mirror's own change waits in its outbox, not lost.
  std::unique_ptr<LocalStore> mirror_store = mirror_.OpenStore();
  ASSERT_NE(mirror_store, nullptr);
  StatusOr<std::vector<OutboxItem>> waiting = mirror_store->PendingOutbox(10);
  ASSERT_TRUE(waiting.ok()) << waiting.status();
  ASSERT_EQ(waiting->size(), 1u);
  EXPECT_EQ((*waiting)[0].id, "from-mirror");
  mirror_store.reset();

  // Both directions on again: everything meets.
  SetDirections(mirror_, true, true);
  SetDirections(sender_, true, true);
  SyncRun mirror = mirror_.SyncAsConfigured();
  EXPECT_EQ(mirror.process.exit_code, 0) << mirror.Describe();
  EXPECT_EQ(mirror.push["sent"], 1) << mirror.Describe();
  SyncRun sender = sender_.SyncAsConfigured();
  EXPECT_EQ(sender.process.exit_code, 0) << sender.Describe();
  EXPECT_EQ(sender.pull["applied"], 2) << sender.Describe();  // from-root, from-mirror
  EXPECT_EQ(sender.push["sent"], 0) << sender.Describe();
  ExpectIdentical({&root_, &mirror_, &sender_});
  ExpectAgreesWithParent(mirror_, root_);
  ExpectAgreesWithParent(sender_, root_);
  ExpectSettled(mirror_);
  ExpectSettled(sender_);
}

}  // namespace
}  // namespace fhirsync::e2e
