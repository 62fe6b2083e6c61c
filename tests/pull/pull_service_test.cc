// SyncPullService on a fake transport and a real SQLite store.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/local_store.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

constexpr char kParent[] = "parent-hq";

// A parent's change feed in memory: positions are indexes into `log_`.
// ReadChanges gives entries without bodies (like an Atom feed), ReadMany the
// current copies; failures can be injected.
class FakeParent : public TransportPlugin {
 public:
  struct Version {
    std::string type;
    std::string id;
    int version = 0;
    bool deleted = false;
    std::string family;
  };

  Status Configure(const TransportSettings&) override { return Status::Ok(); }
  TransportCapabilities GetCapabilities() const override {
    TransportCapabilities caps;
    caps.resource_types = {kAnyResourceType};
    caps.operations = {TransportOperation::kRead, TransportOperation::kReadMany,
                       TransportOperation::kHistory};
    caps.formats = {ResourceFormat::kFhirJson};
    caps.auth_schemes = {"none"};
    return caps;
  }

  void Write(const std::string& type, const std::string& id, const std::string& family) {
    std::lock_guard<std::mutex> lock(mutex_);
    int& v = versions_[{type, id}];
    ++v;
    log_.push_back(Version{type, id, v, false, family});
    current_[{type, id}] = log_.back();
  }
  void Remove(const std::string& type, const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    int& v = versions_[{type, id}];
    ++v;
    log_.push_back(Version{type, id, v, true, ""});
    current_[{type, id}] = log_.back();
  }

  ChangePage ReadChanges(const std::string& since, int max_entries) override {
    if (on_read_changes_) on_read_changes_(max_entries);
    std::lock_guard<std::mutex> lock(mutex_);
    ++history_calls_;
    entries_handed_out_ += std::min<std::size_t>(
        static_cast<std::size_t>(max_entries),
        log_.size() - std::min(log_.size(), since.empty() ? 0 : std::stoul(since)));
    ChangePage page;
    if (fail_history_) {
      page.status = Status(StatusCode::kUnavailable, "parent down");
      page.http_status = 503;
      return page;
    }
    std::size_t start = since.empty() ? 0 : std::stoul(since);
    std::size_t end = std::min(log_.size(), start + static_cast<std::size_t>(max_entries));
    for (std::size_t i = start; i < end; ++i) {
      ChangeEntry entry;
      entry.position = std::to_string(i + 1);
      entry.action = log_[i].deleted ? ChangeAction::kDelete
                     : log_[i].version == 1 ? ChangeAction::kCreate
                                            : ChangeAction::kUpdate;
      entry.resource.type = log_[i].type;
      entry.resource.id = log_[i].id;
      entry.resource.version = std::to_string(log_[i].version);
      page.entries.push_back(entry);
    }
    page.next_position = std::to_string(end);
    page.more = end < log_.size();
    return page;
  }

  ReadManyResult ReadMany(const std::string& type, const std::vector<std::string>& ids) override {
    const int now_in_flight = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now_in_flight > seen && !max_in_flight_.compare_exchange_weak(seen, now_in_flight)) {
    }
    // Long enough for the other requests of a page to overlap.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ReadManyResult result;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++read_many_calls_;
      max_ids_ = std::max(max_ids_, ids.size());
      if (fail_read_many_after_ >= 0 && read_many_calls_ > fail_read_many_after_) {
        result.status = Status(StatusCode::kUnavailable, "connection reset");
        --in_flight_;
        return result;
      }
      for (const std::string& id : ids) {
        ReadResult item;
        auto it = current_.find({type, id});
        if (it == current_.end()) {
          item.status = Status(StatusCode::kNotFound, "no such resource");
        } else if (it->second.deleted) {
          item.status = Status(StatusCode::kNotFound, "gone");
          item.resource.deleted = true;
          item.resource.version = std::to_string(it->second.version);
        } else {
          item.resource.type = type;
          item.resource.id = id;
          item.resource.version = std::to_string(it->second.version);
          item.resource.body = R"({"resourceType":")" + type + R"(","id":")" + id +
                               R"(","name":[{"family":")" + it->second.family + R"("}]})";
        }
        result.items.push_back(item);
      }
    }
    --in_flight_;
    return result;
  }

  std::mutex mutex_;
  std::vector<Version> log_;
  std::map<std::pair<std::string, std::string>, int> versions_;
  std::map<std::pair<std::string, std::string>, Version> current_;
  int history_calls_ = 0;
  std::size_t entries_handed_out_ = 0;
  // Called at the start of each ReadChanges with the entries asked for.
  std::function<void(int max_entries)> on_read_changes_;
  int read_many_calls_ = 0;
  std::size_t max_ids_ = 0;
  bool fail_history_ = false;
  int fail_read_many_after_ = -1;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
};

class PullServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parent_ = std::make_shared<FakeParent>();
    StoreConfig config;
    auto store = OpenLocalStore(config, dir_.path(), "child-1");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    std::vector<LoadedPlugin> plugins;
    LoadedPlugin plugin;
    plugin.info.name = "fake";
    plugin.transport = parent_;
    plugins.push_back(plugin);
    auto manager = SyncResourceManager::Create(std::move(plugins), {}, {});
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(manager).value();
  }

  std::unique_ptr<SyncPullService> Service(PullOptions options) {
    if (options.parent_node_id.empty()) options.parent_node_id = kParent;
    auto service = SyncPullService::Create(store_.get(), manager_.get(), options);
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(service).value() : nullptr;
  }

  std::string Cursor() {
    auto cursor = store_->GetCursor(kParent);
    EXPECT_TRUE(cursor.ok());
    return cursor.ok() && *cursor ? (*cursor)->position : "<none>";
  }

  testing::TempDir dir_;
  std::shared_ptr<FakeParent> parent_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<SyncResourceManager> manager_;
};

TEST_F(PullServiceTest, PullsEverythingInBatchesWithRequestsInFlight) {
  for (int i = 0; i < 250; ++i) parent_->Write("Patient", "p" + std::to_string(i), "F");
  for (int i = 0; i < 30; ++i) parent_->Write("Observation", "o" + std::to_string(i), "O");
  PullOptions options;
  options.batch_size = 20;
  options.in_flight = 4;
  auto service = Service(options);
  ASSERT_NE(service, nullptr);
  std::vector<PullSummary> progress;
  auto summary = service->Run([&](const PullSummary& s) { progress.push_back(s); });
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->applied, 280);
  EXPECT_EQ(summary->fetched, 280);
  EXPECT_EQ(summary->conflicts, 0);
  EXPECT_TRUE(summary->at_head);
  // 280 resources, 20 per request: 15 requests (Patient 13, Observation 2),
  // never one per entry.
  EXPECT_EQ(parent_->read_many_calls_, 15);
  EXPECT_EQ(summary->requests, 15);
  EXPECT_LE(parent_->max_ids_, 20u);
  EXPECT_GT(parent_->max_in_flight_.load(), 1);
  EXPECT_LE(parent_->max_in_flight_.load(), 4);
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().applied, 280);
  EXPECT_EQ(Cursor(), "280");
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->types.size(), 2u);
  EXPECT_EQ(stats->types[1].type, "Patient");
  EXPECT_EQ(stats->types[1].live, 250);

  // A second run reads the feed once, finds nothing, fetches nothing.
  const int calls = parent_->read_many_calls_;
  auto again = service->Run();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(parent_->read_many_calls_, calls);
}

// Streaming, not buffering: the service asks the feed for one
// page of at most batch_size x in_flight entries and applies it before it
// reads the next, so what it holds is bounded by the page, not the feed.
TEST_F(PullServiceTest, HoldsOnePageAtATimeWhateverTheFeedLength) {
  constexpr int kResources = 400;
  for (int i = 0; i < kResources; ++i) parent_->Write("Patient", "s" + std::to_string(i), "S");
  PullOptions options;
  options.batch_size = 10;
  options.in_flight = 2;
  auto service = Service(options);
  ASSERT_NE(service, nullptr);
  std::atomic<std::size_t> applied{0};
  service->AddListener([&](const PulledResult&) { ++applied; });
  std::size_t most_unapplied = 0;
  int largest_ask = 0;
  parent_->on_read_changes_ = [&](int max_entries) {
    largest_ask = std::max(largest_ask, max_entries);
    std::lock_guard<std::mutex> lock(parent_->mutex_);
    most_unapplied = std::max(most_unapplied, parent_->entries_handed_out_ - applied.load());
  };
  auto summary = service->Run();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->applied, kResources);
  EXPECT_EQ(applied.load(), static_cast<std::size_t>(kResources));
  // Every page handed out was applied before the feed was read again.
  EXPECT_EQ(most_unapplied, 0u);
  EXPECT_EQ(largest_ask, 20);
  EXPECT_EQ(summary->pages, kResources / 20);
  EXPECT_LE(parent_->max_ids_, 10u);
}

TEST_F(PullServiceTest, KeepsOnlySubscribedTypesAndAppliesUpdatesAndDeletes) {
  parent_->Write("Patient", "p1", "A");
  parent_->Write("Observation", "o1", "O");
  parent_->Write("Patient", "p2", "B");
  PullOptions options;
  options.types = {"Patient"};
  auto service = Service(options);
  ASSERT_NE(service, nullptr);
  auto first = service->Run();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->applied, 2);
  EXPECT_EQ(store_->Get("Observation", "o1").status().code(), StatusCode::kNotFound);

  parent_->Write("Patient", "p1", "A2");
  parent_->Write("Patient", "p1", "A3");
  parent_->Remove("Patient", "p2");
  std::vector<PulledResult> told;
  service->AddListener([&](const PulledResult& r) { told.push_back(r); });
  auto second = service->Run();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->applied, 2);  // p1 once (its newest copy), p2's tombstone
  EXPECT_EQ(second->skipped, 1);  // the older p1 entry
  auto p1 = store_->Get("Patient", "p1");
  ASSERT_TRUE(p1.ok());
  EXPECT_THAT(p1->body, HasSubstr("A3"));
  auto p2 = store_->Get("Patient", "p2");
  ASSERT_TRUE(p2.ok());
  EXPECT_TRUE(p2->deleted);
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0].id, "p1");
  EXPECT_EQ(told[0].remote_version, "3");
  EXPECT_EQ(told[1].action, ChangeAction::kDelete);
  std::vector<std::pair<std::string, std::string>> keys = {{"Patient", "p1"}};
  auto states = store_->GetSyncStates(keys);
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].remote_version, "3");
}

TEST_F(PullServiceTest, FailedFetchLeavesCursorAndAuditsTheFailure) {
  for (int i = 0; i < 10; ++i) parent_->Write("Patient", "p" + std::to_string(i), "F");
  PullOptions options;
  options.batch_size = 5;
  options.in_flight = 1;
  options.page_entries = 5;
  auto service = Service(options);
  ASSERT_NE(service, nullptr);
  parent_->fail_read_many_after_ = 1;  // the second request fails
  auto summary = service->Run();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(summary.status().message(), HasSubstr("connection reset"));
  EXPECT_EQ(Cursor(), "5");  // after the first page, not past the failure
  auto stats = store_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->types[0].live, 5);
  AuditQuery query;
  query.outcome = "transient";
  auto rows = AuditLog(store_.get()).Query(query);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_THAT((*rows)[0].message, HasSubstr("cursor did not move"));

  parent_->fail_read_many_after_ = -1;
  auto resumed = service->Run();
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->applied, 5);
  EXPECT_EQ(Cursor(), "10");
}

TEST_F(PullServiceTest, FailedFeedReadIsReportedWithItsCode) {
  parent_->Write("Patient", "p1", "F");
  parent_->fail_history_ = true;
  auto service = Service({});
  ASSERT_NE(service, nullptr);
  auto summary = service->Run();
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(summary.status().message(), HasSubstr("parent down"));
  EXPECT_EQ(Cursor(), "<none>");
  AuditQuery query;
  query.operation = "pull-page";
  auto rows = AuditLog(store_.get()).Query(query);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].http_status, 503);
  EXPECT_EQ((*rows)[0].outcome, "transient");
}

TEST_F(PullServiceTest, PendingLocalEditBecomesConflictNotOverwritten) {
  parent_->Write("Patient", "p1", "Server1");
  auto service = Service({});
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Run().ok());
  WriteOp edit;
  edit.type = "Patient";
  edit.id = "p1";
  edit.body = R"({"resourceType":"Patient","id":"p1","name":[{"family":"Local"}]})";
  ASSERT_TRUE(store_->Put(edit).ok());
  parent_->Write("Patient", "p1", "Server2");
  auto summary = service->Run();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->conflicts, 1);
  EXPECT_EQ(summary->applied, 0);
  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->body, HasSubstr("Local"));
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_THAT((*conflicts)[0].remote_body, HasSubstr("Server2"));
}

// A change made here that the parent already holds as it is (both sides
// created the same id with the same content, e.g. from one imported file):
// no conflict; the change counts as delivered, the parent's version agreed.
TEST_F(PullServiceTest, PendingLocalCreateWithTheParentsVeryContentIsAgreedNotAConflict) {
  WriteOp mine;
  mine.type = "Patient";
  mine.id = "mrn-1";
  mine.body = R"({"resourceType":"Patient","id":"mrn-1","name":[{"family":"Same"}]})";
  ASSERT_TRUE(store_->Put(mine).ok());
  WriteOp other = mine;
  other.id = "mrn-2";
  other.body = R"({"resourceType":"Patient","id":"mrn-2","name":[{"family":"Mine"}]})";
  ASSERT_TRUE(store_->Put(other).ok());
  parent_->Write("Patient", "mrn-1", "Same");
  parent_->Write("Patient", "mrn-2", "Theirs");
  auto service = Service({});
  ASSERT_NE(service, nullptr);
  auto summary = service->Run();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->unchanged, 1);
  EXPECT_EQ(summary->conflicts, 1);  // mrn-2: different content
  OutboxQuery waiting;
  waiting.states = {kOutboxPending, kOutboxDead};
  auto open = store_->ListOutbox(waiting);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].id, "mrn-2");
  auto agreed = store_->GetSyncState("Patient", "mrn-1");
  ASSERT_TRUE(agreed.ok() && agreed->has_value());
  EXPECT_EQ((*agreed)->remote_version, "1");
  EXPECT_EQ((*agreed)->local_version, 1);
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].id, "mrn-2");
  AuditQuery query;
  query.outcome = "agreed";
  auto rows = store_->QueryAudit(query);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].id, "mrn-1");
  EXPECT_THAT((*rows)[0].message, HasSubstr("holds the same content as this change"));
  // A later pull of the same version changes nothing.
  summary = service->Run();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->unchanged + summary->applied + summary->conflicts, 0);
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PullServiceTest, MaxPagesStopsEarlyAndTheNextRunResumes) {
  for (int i = 0; i < 12; ++i) parent_->Write("Patient", "p" + std::to_string(i), "F");
  PullOptions options;
  options.page_entries = 4;
  options.max_pages = 2;
  auto service = Service(options);
  ASSERT_NE(service, nullptr);
  auto first = service->Run();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->applied, 8);
  EXPECT_FALSE(first->at_head);
  EXPECT_EQ(Cursor(), "8");
  auto second = service->Run();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->applied, 4);
}

TEST_F(PullServiceTest, CreateRejectsBadOptions) {
  PullOptions options;
  auto no_parent = SyncPullService::Create(store_.get(), manager_.get(), options);
  EXPECT_EQ(no_parent.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_parent.status().message(), HasSubstr("node id"));
  options.parent_node_id = kParent;
  options.batch_size = 0;
  auto no_batch = SyncPullService::Create(store_.get(), manager_.get(), options);
  EXPECT_EQ(no_batch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_batch.status().message(), HasSubstr("batch_size"));
  options.batch_size = 10;
  options.types = {"Not a type"};
  auto bad_type = SyncPullService::Create(store_.get(), manager_.get(), options);
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_type.status().message(), HasSubstr("Not a type"));
}

TEST_F(PullServiceTest, CursorOfAnotherFeedKindIsRefused) {
  parent_->Write("Patient", "p1", "F");
  ASSERT_TRUE(Service({})->Run().ok());
  PullOptions options;
  options.feed = "fhir-history";
  auto service = Service(options);
  ASSERT_NE(service, nullptr);
  auto summary = service->Run();
  EXPECT_EQ(summary.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(summary.status().message(), HasSubstr("'atom' feed"));
}

}  // namespace
}  // namespace fhirsync
