// A three-level tree of real processes: a root; two facilities, each a
// child of the root AND a parent (each runs `fhirsync serve` while `fhirsync
// sync` processes work on the same node folder); two tablets under facility
// A. Bursts of creates, updates and deletes on every node, some on the same
// resource on different nodes one after another, then sync rounds
// bottom-up and top-down, some of them concurrent. Afterwards every node
// holds the same data, and no change travelled back the way it came: that
// is checked by version and origin (each node's change feed holds every
// write exactly once; each node pushed exactly the changes it made or got
// from its children, each once, and none it got from its parent), never by
// comparing content. A further round moves nothing.

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <thread>

#include "e2e/sync_node.h"
#include "support/temp_dir.h"

namespace fhirsync::e2e {
namespace {

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.InitRoot());
    ASSERT_TRUE(root_.AdmitChild(fac_a_.node_id()));
    ASSERT_TRUE(root_.AdmitChild(fac_b_.node_id()));
    ASSERT_TRUE(root_.Serve());
    for (SyncNode* facility : {&fac_a_, &fac_b_}) ASSERT_TRUE(facility->InitChild(root_));
    ASSERT_TRUE(fac_a_.AdmitChild(tab_1_.node_id()));
    ASSERT_TRUE(fac_a_.AdmitChild(tab_2_.node_id()));
    for (SyncNode* facility : {&fac_a_, &fac_b_}) ASSERT_TRUE(facility->Serve());
    for (SyncNode* tablet : {&tab_1_, &tab_2_}) ASSERT_TRUE(tablet->InitChild(fac_a_));
  }

  // A write on `node`, counted per resource: every node must end with
  // exactly this many changes of it.
  void Put(SyncNode& node, const std::string& type, const std::string& id,
           const std::string& fields) {
    ASSERT_TRUE(node.Put(R"({"resourceType":")" + type + R"(","id":")" + id + "\"," + fields +
                         "}"));
    ++writes_[type + "/" + id];
  }
  void Delete(SyncNode& node, const std::string& key) {
    ASSERT_TRUE(node.Delete(key));
    ++writes_[key];
  }

  // `sync --pull --push --once` on each node at the same time.
  void SyncAtOnce(const std::vector<SyncNode*>& nodes) {
    std::vector<SyncRun> runs(nodes.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      threads.emplace_back([&, i] { runs[i] = nodes[i]->Sync(); });
    }
    for (std::thread& t : threads) t.join();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      EXPECT_EQ(runs[i].process.exit_code, 0) << nodes[i]->node_id() << ": " << runs[i].Describe();
      EXPECT_TRUE(runs[i].pulled && runs[i].pushed) << runs[i].Describe();
      EXPECT_EQ(runs[i].pull["conflicts"], 0) << nodes[i]->node_id() << runs[i].Describe();
      EXPECT_EQ(runs[i].pull["rejected"], 0) << nodes[i]->node_id() << runs[i].Describe();
      EXPECT_EQ(runs[i].push["conflicts"], 0) << nodes[i]->node_id() << runs[i].Describe();
      EXPECT_EQ(runs[i].push["dead_lettered"], 0) << nodes[i]->node_id() << runs[i].Describe();
    }
  }

  // Bottom-up (the tablets together with their facility's own sync, while
  // the facility serves them), then top-down.
  void Round() {
    SyncAtOnce({&tab_1_, &tab_2_, &fac_a_});
    SyncAtOnce({&fac_a_, &fac_b_});
    SyncAtOnce({&fac_a_, &fac_b_});
    SyncAtOnce({&tab_1_, &tab_2_});
  }

  std::vector<const SyncNode*> All() const { return {&root_, &fac_a_, &fac_b_, &tab_1_, &tab_2_}; }

  // Each node's change feed holds every write exactly once: no version was
  // added by an echo.
  void ExpectEveryWriteOnceEverywhere() {
    for (const SyncNode* node : All()) {
      std::unique_ptr<LocalStore> store = node->OpenStore();
      ASSERT_NE(store, nullptr);
      ChangeQuery query;
      query.limit = 100000;
      StatusOr<std::vector<Change>> changes = store->Changes(query);
      ASSERT_TRUE(changes.ok()) << changes.status();
      std::map<std::string, int> seen;
      for (const Change& c : *changes) ++seen[c.resource.type + "/" + c.resource.id];
      EXPECT_EQ(seen, writes_) << node->node_id();
    }
  }

  // What `child` pushed: every push the parent accepted is a change the
  // child made or got from its own children (origin: the child), never one
  // that came from `parent`; each such change was accepted exactly once.
  void ExpectPushedOnlyItsOwn(const SyncNode& child, const SyncNode& parent) {
    std::unique_ptr<LocalStore> store = child.OpenStore();
    ASSERT_NE(store, nullptr);
    ChangeQuery query;
    query.limit = 100000;
    StatusOr<std::vector<Change>> changes = store->Changes(query);
    ASSERT_TRUE(changes.ok()) << changes.status();
    std::map<std::pair<std::string, std::int64_t>, std::string> origin_of;
    std::set<std::pair<std::string, std::int64_t>> own;
    for (const Change& c : *changes) {
      const std::pair<std::string, std::int64_t> key{c.resource.type + "/" + c.resource.id,
                                                     c.resource.version};
      origin_of[key] = c.origin;
      if (c.origin == child.node_id()) {
        own.insert(key);
      } else {
        EXPECT_EQ(c.origin, parent.node_id()) << child.node_id() << " " << key.first;
      }
    }
    AuditQuery audit;
    audit.operation = "push";
    audit.outcome = "accepted";
    audit.limit = 100000;
    StatusOr<std::vector<AuditRecord>> pushed = store->QueryAudit(audit);
    ASSERT_TRUE(pushed.ok()) << pushed.status();
    std::map<std::pair<std::string, std::int64_t>, int> times;
    for (const AuditRecord& row : *pushed) {
      const std::pair<std::string, std::int64_t> key{row.type + "/" + row.id, row.local_version};
      ++times[key];
      EXPECT_EQ(origin_of[key], child.node_id())
          << child.node_id() << " pushed " << key.first << " v" << key.second
          << " back to where it came from";
    }
    for (const auto& key : own) {
      EXPECT_EQ(times[key], 1) << child.node_id() << " " << key.first << " v" << key.second;
    }
    EXPECT_EQ(times.size(), own.size()) << child.node_id();
  }

  testing::TempDir tmp_{"fhirsync-e2e-tree"};
  SyncNode root_{tmp_.Sub("root"), "root"};
  SyncNode fac_a_{tmp_.Sub("facility-a"), "facility-a"};
  SyncNode fac_b_{tmp_.Sub("facility-b"), "facility-b"};
  SyncNode tab_1_{tmp_.Sub("tablet-1"), "tablet-1"};
  SyncNode tab_2_{tmp_.Sub("tablet-2"), "tablet-2"};
  std::map<std::string, int> writes_;
};

TEST_F(TreeTest, BurstsOnEveryNodeConvergeWithoutEchoes) {
  // Burst 1: every node creates.
  Put(root_, "Organization", "org-root", R"("name":"Ministry of Health")");
  Put(root_, "Patient", "p-root", R"("gender":"female","birthDate":"1970-01-01")");
  Put(fac_a_, "Patient", "p-fa", R"("gender":"male")");
  Put(fac_a_, "Location", "loc-a", R"("name":"Ward A")");
  Put(fac_b_, "Patient", "p-fb", R"("gender":"female","birthDate":"1991-05-05")");
  Put(fac_b_, "Observation", "obs-fb",
      R"("status":"final","code":{"text":"weight"},"valueQuantity":{"value":61})");
  Put(tab_1_, "Patient", "p-t1", R"("gender":"male","birthDate":"2001-01-01")");
  Put(tab_1_, "Observation", "obs-t1",
      R"("status":"final","code":{"text":"height"},"valueQuantity":{"value":170})");
  Put(tab_2_, "Patient", "p-t2", R"("gender":"female")");
  Put(tab_2_, "Encounter", "enc-t2",
      R"("status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p-t2"})");
  Round();
  Round();

  // Burst 2: updates and deletes of resources made elsewhere.
  Put(tab_2_, "Patient", "p-fb",
      R"("gender":"female","birthDate":"1991-05-05","telecom":[{"system":"phone","value":"1"}])");
  Put(fac_b_, "Patient", "p-t1", R"("gender":"male","birthDate":"2001-01-02")");
  Delete(root_, "Observation/obs-t1");
  Delete(tab_1_, "Location/loc-a");
  Put(fac_a_, "Organization", "org-root", R"("name":"Ministry of Health","alias":["MoH"])");
  Put(tab_1_, "Patient", "p-t1b", R"("gender":"other")");
  // p-fb goes up from tablet-2, reaches facility-b, which then edits it too.
  SyncAtOnce({&tab_2_});
  SyncAtOnce({&fac_a_});
  SyncAtOnce({&fac_b_});
  Put(fac_b_, "Patient", "p-fb",
      R"("gender":"female","birthDate":"1991-05-06","telecom":[{"system":"phone","value":"1"}])");
  Round();
  Round();

  // Burst 3: more on the same resources, now on other nodes.
  Put(tab_1_, "Patient", "p-fb",
      R"("gender":"unknown","birthDate":"1991-05-06","telecom":[{"system":"phone","value":"1"}])");
  Put(root_, "Patient", "p-t2", R"("gender":"female","birthDate":"1999-09-09")");
  Delete(fac_b_, "Encounter/enc-t2");
  Put(tab_2_, "Observation", "obs-t2",
      R"("status":"final","code":{"text":"pulse"},"valueQuantity":{"value":72})");
  Round();
  Round();

  ExpectIdentical(All());
  ExpectAgreesWithParent(fac_a_, root_);
  ExpectAgreesWithParent(fac_b_, root_);
  ExpectAgreesWithParent(tab_1_, fac_a_);
  ExpectAgreesWithParent(tab_2_, fac_a_);
  for (const SyncNode* node : All()) ExpectSettled(*node);
  ExpectEveryWriteOnceEverywhere();
  ExpectPushedOnlyItsOwn(fac_a_, root_);
  ExpectPushedOnlyItsOwn(fac_b_, root_);
  ExpectPushedOnlyItsOwn(tab_1_, fac_a_);
  ExpectPushedOnlyItsOwn(tab_2_, fac_a_);

  // A further round sends and applies nothing, and fetches nothing.
  for (SyncNode* node : {&tab_1_, &tab_2_, &fac_a_, &fac_b_}) {
    SyncRun run = node->Sync();
    EXPECT_EQ(run.process.exit_code, 0) << run.Describe();
    EXPECT_EQ(run.push["sent"], 0) << node->node_id() << run.Describe();
    EXPECT_EQ(run.push["requests"], 0) << node->node_id() << run.Describe();
    EXPECT_EQ(run.pull["applied"], 0) << node->node_id() << run.Describe();
    EXPECT_EQ(run.pull["fetched"], 0) << node->node_id() << run.Describe();
  }
}

}  // namespace
}  // namespace fhirsync::e2e
