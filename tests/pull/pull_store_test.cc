// LocalStore's pull side (ApplyPull, cursors, sync state, conflicts, audit)
// on both backends.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fhirsync/audit_log.h"
#include "fhirsync/local_store.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

constexpr char kNode[] = "child-1";
constexpr char kParent[] = "parent-hq";

std::string PatientBody(const std::string& id, const std::string& family,
                        const std::string& version = "") {
  std::string meta = version.empty() ? "" : R"("meta":{"versionId":")" + version + R"("},)";
  return R"({"resourceType":"Patient","id":")" + id + "\"," + meta + R"("name":[{"family":")" +
         family + R"("}]})";
}

PulledResource Pulled(const std::string& id, const std::string& version,
                      const std::string& family) {
  PulledResource r;
  r.type = "Patient";
  r.id = id;
  r.remote_version = version;
  r.body = PatientBody(id, family, version);
  return r;
}

PulledResource PulledDelete(const std::string& id, const std::string& version) {
  PulledResource r;
  r.type = "Patient";
  r.id = id;
  r.remote_version = version;
  r.deleted = true;
  return r;
}

PullPage Page(std::vector<PulledResource> resources, const std::string& position) {
  PullPage page;
  page.parent_node_id = kParent;
  page.feed = "atom";
  page.position = position;
  page.transport = "fake";
  page.resources = std::move(resources);
  return page;
}

class PullStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") schema_ = std::make_unique<testing::PostgresSchema>();
    StoreConfig config;
    config.backend = GetParam();
    config.max_body_bytes = 4096;
    if (schema_) config.connection = schema_->connection();
    auto store = OpenLocalStore(config, dir_.path(), kNode);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
  }

  std::vector<PulledResult> MustApply(const PullPage& page) {
    auto results = store_->ApplyPull(page);
    EXPECT_TRUE(results.ok()) << results.status();
    return results.ok() ? *results : std::vector<PulledResult>{};
  }

  std::string Cursor() {
    auto cursor = store_->GetCursor(kParent);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() && *cursor ? (*cursor)->position : "<none>";
  }

  testing::ScratchDir dir_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<LocalStore> store_;
};

TEST_P(PullStoreTest, AppliesPageAndCursorWithoutOutboxAndRecordsOrigin) {
  EXPECT_EQ(Cursor(), "<none>");
  auto results = MustApply(Page({Pulled("p1", "3", "Doe"), Pulled("p2", "1", "Roe")}, "pos-1"));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].outcome, PullOutcome::kApplied);
  EXPECT_EQ(results[0].action, ChangeAction::kCreate);
  EXPECT_EQ(results[0].local_version, 1);
  EXPECT_GT(results[0].seq, 0);
  EXPECT_EQ(Cursor(), "pos-1");

  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(got->body, HasSubstr("Doe"));
  EXPECT_THAT(got->body, HasSubstr(R"("versionId":"1")"));  // this node's own version

  auto outbox = store_->PendingOutbox(10);
  ASSERT_TRUE(outbox.ok());
  EXPECT_TRUE(outbox->empty());
  ChangeQuery query;
  auto changes = store_->Changes(query);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[0].origin, kParent);

  std::vector<std::pair<std::string, std::string>> keys = {{"Patient", "p1"}, {"Patient", "nope"}};
  auto states = store_->GetSyncStates(keys);
  ASSERT_TRUE(states.ok()) << states.status();
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].remote_version, "3");
  EXPECT_EQ((*states)[0].local_version, 1);
  EXPECT_EQ((*states)[0].content_hash, got->content_hash);
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_P(PullStoreTest, ReapplyingIsANoOpAndOlderVersionsAreSkipped) {
  MustApply(Page({Pulled("p1", "3", "Doe")}, "pos-1"));
  auto again = MustApply(Page({Pulled("p1", "3", "Doe"), Pulled("p1", "2", "Old")}, "pos-1"));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].outcome, PullOutcome::kSkipped);
  EXPECT_EQ(again[1].outcome, PullOutcome::kSkipped);
  auto last = store_->LastSeq();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, 1);
  // Version 10 is newer than 3 (numbers, not text).
  auto newer = MustApply(Page({Pulled("p1", "10", "New")}, "pos-2"));
  EXPECT_EQ(newer[0].outcome, PullOutcome::kApplied);
  EXPECT_EQ(newer[0].action, ChangeAction::kUpdate);
  EXPECT_EQ(newer[0].local_version, 2);
  // A newer version with the same content records the agreement only.
  auto same = MustApply(Page({Pulled("p1", "11", "New")}, "pos-3"));
  EXPECT_EQ(same[0].outcome, PullOutcome::kUnchanged);
  auto last2 = store_->LastSeq();
  ASSERT_TRUE(last2.ok());
  EXPECT_EQ(*last2, 2);
  EXPECT_EQ(Cursor(), "pos-3");
}

TEST_P(PullStoreTest, DeletesArriveAsTombstones) {
  MustApply(Page({Pulled("p1", "1", "Doe")}, "a"));
  auto deleted = MustApply(Page({PulledDelete("p1", "2"), PulledDelete("never", "5")}, "b"));
  EXPECT_EQ(deleted[0].outcome, PullOutcome::kApplied);
  EXPECT_EQ(deleted[0].action, ChangeAction::kDelete);
  EXPECT_EQ(deleted[1].outcome, PullOutcome::kUnchanged);
  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->deleted);
  EXPECT_EQ(store_->Get("Patient", "never").status().code(), StatusCode::kNotFound);
  // The agreement on the never-held delete stops an older copy coming back.
  auto stale = MustApply(Page({Pulled("never", "4", "Zombie")}, "c"));
  EXPECT_EQ(stale[0].outcome, PullOutcome::kSkipped);
}

TEST_P(PullStoreTest, PendingLocalEditIsKeptAndServerCopyBecomesConflict) {
  MustApply(Page({Pulled("p1", "1", "Server1")}, "a"));
  WriteOp edit;
  edit.type = "Patient";
  edit.id = "p1";
  edit.body = PatientBody("p1", "LocalEdit");
  auto local = store_->Put(edit);
  ASSERT_TRUE(local.ok()) << local.status();
  ASSERT_EQ(local->version, 2);

  auto results = MustApply(Page({Pulled("p1", "2", "Server2")}, "b"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, PullOutcome::kConflict);
  EXPECT_THAT(results[0].message, HasSubstr("conflict"));
  auto got = store_->Get("Patient", "p1");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->body, HasSubstr("LocalEdit"));
  auto outbox = store_->PendingOutbox(10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].version, 2);
  EXPECT_EQ(Cursor(), "b");  // the page is done; the conflict is recorded

  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok()) << conflicts.status();
  ASSERT_EQ(conflicts->size(), 1u);
  const ConflictRecord& c = (*conflicts)[0];
  EXPECT_EQ(c.type, "Patient");
  EXPECT_EQ(c.id, "p1");
  EXPECT_EQ(c.outbox_seq, local->seq);
  EXPECT_EQ(c.base_version, 1);
  EXPECT_THAT(c.base_body, HasSubstr("Server1"));
  EXPECT_EQ(c.local_version, 2);
  EXPECT_THAT(c.local_body, HasSubstr("LocalEdit"));
  EXPECT_EQ(c.remote_version, "2");
  EXPECT_THAT(c.remote_body, HasSubstr("Server2"));
  EXPECT_EQ(c.status, "open");

  // Re-reading the page adds no second conflict; a newer server copy
  // updates the open one.
  auto again = MustApply(Page({Pulled("p1", "2", "Server2")}, "b"));
  EXPECT_EQ(again[0].outcome, PullOutcome::kSkipped);
  auto newer = MustApply(Page({Pulled("p1", "3", "Server3")}, "c"));
  EXPECT_EQ(newer[0].outcome, PullOutcome::kConflict);
  conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ((*conflicts)[0].remote_version, "3");
  EXPECT_THAT((*conflicts)[0].remote_body, HasSubstr("Server3"));
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_P(PullStoreTest, InvalidContentIsRejectedPerResourceAndAudited) {
  PulledResource wrong_type = Pulled("p2", "1", "X");
  wrong_type.body = R"({"resourceType":"Observation","id":"p2"})";
  PulledResource bad_json = Pulled("p3", "1", "X");
  bad_json.body = "{not json";
  PulledResource too_big = Pulled("p4", "1", std::string(5000, 'x'));
  PulledResource hostile_id = Pulled("../etc", "1", "X");
  auto results = MustApply(
      Page({Pulled("p1", "1", "Good"), wrong_type, bad_json, too_big, hostile_id}, "a"));
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].outcome, PullOutcome::kApplied);
  for (std::size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(results[i].outcome, PullOutcome::kRejected) << i;
  }
  EXPECT_THAT(results[1].message, HasSubstr("Observation"));
  EXPECT_THAT(results[2].message, HasSubstr("JSON"));
  EXPECT_THAT(results[3].message, HasSubstr("4096"));
  EXPECT_EQ(Cursor(), "a");

  AuditLog log(store_.get());
  AuditQuery query;
  query.outcome = "rejected";
  auto rows = log.Query(query);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].operation, "pull-apply");
  EXPECT_EQ((*rows)[0].transport, "fake");
  EXPECT_EQ((*rows)[0].id, "p2");
  query.outcome = "applied";
  rows = log.Query(query);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].local_version, 1);
  EXPECT_EQ((*rows)[0].remote_version, "1");
}

TEST_P(PullStoreTest, RejectsPagesWithoutParentOrFromItself) {
  PullPage page = Page({Pulled("p1", "1", "Doe")}, "a");
  page.parent_node_id.clear();
  auto none = store_->ApplyPull(page);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("parent node id"));
  page.parent_node_id = kNode;
  auto self = store_->ApplyPull(page);
  EXPECT_EQ(self.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(self.status().message(), HasSubstr("own id"));
  EXPECT_EQ(store_->Get("Patient", "p1").status().code(), StatusCode::kNotFound);
}

TEST_P(PullStoreTest, CursorsAreKeyedByParentNodeId) {
  MustApply(Page({}, "hq-5"));
  PullPage other = Page({}, "district-9");
  other.parent_node_id = "district";
  other.feed = "fhir-history";
  MustApply(other);
  EXPECT_EQ(Cursor(), "hq-5");
  auto district = store_->GetCursor("district");
  ASSERT_TRUE(district.ok());
  ASSERT_TRUE(district->has_value());
  EXPECT_EQ((*district)->position, "district-9");
  EXPECT_EQ((*district)->feed, "fhir-history");
}

TEST_P(PullStoreTest, AuditLogRecordsAndFilters) {
  AuditLog log(store_.get());
  AuditRecord first;
  first.operation = "push";
  first.type = "Patient";
  first.id = "p1";
  first.local_version = 2;
  first.remote_version = "7";
  first.transport = "fhir";
  first.outcome = "transient";
  first.http_status = 503;
  first.message = "Service Unavailable";
  auto id1 = log.Append(first);
  ASSERT_TRUE(id1.ok()) << id1.status();
  AuditRecord retry = first;
  retry.outcome = "ok";
  retry.http_status = 200;
  retry.retry_of = *id1;
  auto id2 = log.Append(retry);
  ASSERT_TRUE(id2.ok()) << id2.status();
  EXPECT_EQ(*id2, *id1 + 1);
  AuditRecord bad;
  bad.operation = "push";
  auto refused = log.Append(bad);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("outcome"));

  AuditQuery query;
  query.operation = "push";
  auto rows = log.Query(query);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].http_status, 503);
  EXPECT_EQ((*rows)[0].retry_of, 0);
  EXPECT_GT((*rows)[0].at_ms, 0);
  EXPECT_EQ((*rows)[1].retry_of, *id1);
  EXPECT_EQ((*rows)[1].local_version, 2);
  query.after_id = *id1;
  rows = log.Query(query);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].audit_id, *id2);
}

INSTANTIATE_TEST_SUITE_P(Backends, PullStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace fhirsync
