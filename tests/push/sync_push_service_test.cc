// SyncPushService on a real SQLite store and an in-memory parent
// (FakeParent): every answer class of architecture §5 and what it leaves behind.

#include "fhirsync/sync_push_service.h"
#include "fhirsync/push_operations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "fake_parent.h"
#include "fhirsync/plugin/abi.h"
#include "fhirsync/local_store.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using testing::Fault;
using testing::FakeParent;

class PushServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreConfig config;
    auto store = OpenLocalStore(config, dir_.path(), "child");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    parent_ = std::make_shared<FakeParent>();
    LoadedPlugin plugin;
    plugin.info.name = "fake";
    plugin.info.abi_minor = kPluginAbiMinor;
    plugin.transport = parent_;
    std::vector<LoadedPlugin> plugins;
    plugins.push_back(plugin);
    auto routes = SyncResourceManager::Create(std::move(plugins), {}, {});
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = std::move(routes).value();
  }

  SyncPushService Service(PushOptions options = {}) {
    if (!options.clock) options.clock = [this] { return now_ms_; };
    options.parent_node_id = "parent-node";
    return SyncPushService(store_.get(), routes_.get(), options);
  }

  WriteResult Put(const std::string& id, const std::string& fields) {
    WriteOp op;
    op.type = "Patient";
    op.id = id;
    op.body = R"({"resourceType":"Patient","id":")" + id + "\"" +
              (fields.empty() ? "" : "," + fields) + "}";
    auto result = store_->Put(op);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : WriteResult{};
  }

  std::vector<OutboxItem> Outbox(const std::string& state = "") {
    OutboxQuery query;
    if (!state.empty()) query.states = {state};
    auto items = store_->ListOutbox(query);
    EXPECT_TRUE(items.ok()) << items.status();
    return items.ok() ? *items : std::vector<OutboxItem>{};
  }

  std::vector<AuditRecord> Audit(const std::string& outcome = "") {
    AuditQuery query;
    query.outcome = outcome;
    auto rows = store_->QueryAudit(query);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<AuditRecord>{};
  }

  // A fresh service, for tests that run one once.
  SyncPushService& SyncPushServiceHolder() {
    holder_ = std::make_unique<SyncPushService>(store_.get(), routes_.get(), [this] {
      PushOptions options;
      options.clock = [this] { return now_ms_; };
      options.parent_node_id = "parent-node";
      return options;
    }());
    return *holder_;
  }

  PushReport Run(SyncPushService& service) {
    auto report = service.RunUntilIdle(20);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : PushReport{};
  }

  std::string ParentField(const std::string& key, const std::string& field) {
    rapidjson::Document doc;
    doc.Parse(parent_->Held(key).body.c_str());
    if (doc.HasParseError() || !doc.HasMember(field.c_str())) return "<none>";
    return doc[field.c_str()].GetString();
  }

  ::fhirsync::testing::TempDir dir_;
  std::unique_ptr<LocalStore> store_;
  std::shared_ptr<FakeParent> parent_;
  std::unique_ptr<SyncResourceManager> routes_;
  std::int64_t now_ms_ = 1'800'000'000'000;
  std::unique_ptr<SyncPushService> holder_;
};

TEST_F(PushServiceTest, NewResourcesAreCreatedInOneBatchAndAgreed) {
  for (int i = 0; i < 5; ++i) Put("p" + std::to_string(i), R"("gender":"male")");
  SyncPushService service = Service();
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 5);
  EXPECT_EQ(report.requests, 1);
  EXPECT_EQ(parent_->write_many_calls, 1);
  EXPECT_EQ(parent_->creates, 5);
  EXPECT_EQ(Outbox(kOutboxSent).size(), 5u);
  EXPECT_TRUE(Outbox(kOutboxPending).empty());
  auto agreed = store_->GetSyncState("Patient", "p3");
  ASSERT_TRUE(agreed.ok() && agreed->has_value());
  EXPECT_EQ((*agreed)->remote_version, "1");
  EXPECT_EQ((*agreed)->local_version, 1);
  EXPECT_EQ(Audit("accepted").size(), 5u);
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PushServiceTest, BatchSizeOneSendsOneRequestPerResource) {
  for (int i = 0; i < 4; ++i) Put("p" + std::to_string(i), "");
  PushOptions options;
  options.batch_size = 1;
  SyncPushService service = Service(options);
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 4);
  EXPECT_EQ(report.requests, 4);
  EXPECT_EQ(parent_->write_many_calls, 0);
}

TEST_F(PushServiceTest, SeveralEditsOfOneResourceGoAsTheNewestWithIfMatch) {
  Put("p", R"("gender":"male")");
  SyncPushService service = Service();
  Run(service);
  Put("p", R"("gender":"female")");
  Put("p", R"("gender":"other")");
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  ASSERT_EQ(parent_->expected_versions.size(), 1u);
  EXPECT_EQ(parent_->expected_versions[0], "1");
  EXPECT_EQ(ParentField("Patient/p", "gender"), "other");
  EXPECT_EQ(Outbox(kOutboxSent).size(), 3u);
}

TEST_F(PushServiceTest, ConflictWithDifferentFieldsMergesAndResends) {
  Put("p", R"("gender":"male","birthDate":"1970-01-01")");
  SyncPushService service = Service();
  Run(service);
  // The parent changes birthDate, this node changes gender.
  parent_->Put("Patient/p",
               R"({"resourceType":"Patient","id":"p","gender":"male","birthDate":"1999-09-09"})");
  Put("p", R"("gender":"female","birthDate":"1970-01-01")");
  PushReport report = Run(service);
  EXPECT_EQ(report.merged, 1);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(ParentField("Patient/p", "gender"), "female");
  EXPECT_EQ(ParentField("Patient/p", "birthDate"), "1999-09-09");
  // The merge was re-sent with If-Match of the server version ("2").
  ASSERT_EQ(parent_->expected_versions.size(), 2u);
  EXPECT_EQ(parent_->expected_versions[0], "1");
  EXPECT_EQ(parent_->expected_versions[1], "2");
  auto local = store_->Get("Patient", "p");
  ASSERT_TRUE(local.ok());
  EXPECT_THAT(local->body, HasSubstr("\"birthDate\":\"1999-09-09\""));
  EXPECT_THAT(local->body, HasSubstr("\"gender\":\"female\""));
  // The re-sent item kept the correlation id of the one it replaced.
  auto replaced = Outbox(kOutboxReplaced);
  ASSERT_EQ(replaced.size(), 1u);
  auto sent = Outbox(kOutboxSent);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent.back().correlation_id, replaced.front().correlation_id);
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PushServiceTest, RealConflictIsRecordedAndDeadLetteredButOthersFlow) {
  Put("p", R"("gender":"male")");
  Put("q", R"("gender":"male")");
  SyncPushService service = Service();
  Run(service);
  parent_->Put("Patient/p", R"({"resourceType":"Patient","id":"p","gender":"other"})");
  Put("p", R"("gender":"female")");
  PushReport report = Run(service);
  EXPECT_EQ(report.conflicts, 1);
  EXPECT_EQ(report.dead_lettered, 1);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].outcome, "conflict");
  EXPECT_EQ(dead[0].last_http_status, 412);
  EXPECT_THAT(dead[0].message, HasSubstr("gender"));
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  const ConflictRecord& c = conflicts->front();
  EXPECT_EQ(c.base_version, 1);
  EXPECT_THAT(c.base_body, HasSubstr("\"male\""));
  EXPECT_THAT(c.local_body, HasSubstr("\"female\""));
  EXPECT_THAT(c.remote_body, HasSubstr("\"other\""));
  EXPECT_EQ(c.remote_version, "2");
  // A later edit of p waits behind the dead letter; q still flows.
  Put("p", R"("gender":"unknown")");
  Put("q", R"("gender":"female")");
  report = Run(service);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(ParentField("Patient/q", "gender"), "female");
  EXPECT_EQ(ParentField("Patient/p", "gender"), "other");
  EXPECT_EQ(Outbox(kOutboxPending).size(), 1u);
}

TEST_F(PushServiceTest, BusinessRuleKeepsTheOperationOutcomeText) {
  Put("p", "");
  Fault fault;
  fault.http_status = 422;
  fault.code = StatusCode::kFailedPrecondition;
  fault.message = "PUT Patient/p: HTTP 422 Unprocessable Entity";
  fault.operation_outcome = "error (business-rule): Negative stock";
  parent_->AddFault(fault);
  SyncPushService service = Service();
  PushReport report = Run(service);
  EXPECT_EQ(report.dead_lettered, 1);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].outcome, "business-rule");
  EXPECT_EQ(dead[0].last_http_status, 422);
  EXPECT_THAT(dead[0].message, HasSubstr("Negative stock"));
  auto rows = Audit("business-rule");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].message, HasSubstr("Negative stock"));
  EXPECT_EQ(rows[0].correlation_id, dead[0].correlation_id);
}

TEST_F(PushServiceTest, InvalidAndGoneAreDeadLetters) {
  Put("a", "");
  Put("b", "");
  Fault invalid;
  invalid.http_status = 400;
  invalid.code = StatusCode::kInvalidArgument;
  invalid.message = "HTTP 400 Bad Request";
  Fault gone;
  gone.http_status = 410;
  gone.code = StatusCode::kNotFound;
  gone.message = "HTTP 410 Gone";
  parent_->AddFault(invalid);
  parent_->AddFault(gone);
  PushOptions options;
  options.batch_size = 1;
  SyncPushService service = Service(options);
  Run(service);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].outcome, "invalid");
  EXPECT_EQ(dead[0].last_http_status, 400);
  EXPECT_EQ(dead[1].outcome, "gone");
  EXPECT_EQ(dead[1].last_http_status, 410);
}

TEST_F(PushServiceTest, NotFoundUpdateIsSentAgainAsACreate) {
  Put("p", R"("gender":"male")");
  SyncPushService service = Service();
  Run(service);
  Put("p", R"("gender":"female")");
  parent_->Forget("Patient/p");  // the update meets a 404
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(parent_->updates, 1);
  EXPECT_EQ(parent_->creates, 2);
  EXPECT_EQ(ParentField("Patient/p", "gender"), "female");
  auto rows = Audit("accepted");
  ASSERT_FALSE(rows.empty());
  EXPECT_THAT(rows.back().message, HasSubstr("created it at the same id"));
}

TEST_F(PushServiceTest, AuthFailurePausesWithoutDeadLettering) {
  Put("a", "");
  Put("b", "");
  parent_->AddFault(Fault{401, StatusCode::kUnauthenticated, "HTTP 401 Unauthorized", "", false,
                          false});
  PushOptions options;
  options.batch_size = 1;
  SyncPushService service = Service(options);
  PushReport report = Run(service);
  EXPECT_TRUE(report.paused);
  EXPECT_THAT(report.pause_message, HasSubstr("401"));
  EXPECT_TRUE(Outbox(kOutboxDead).empty());
  EXPECT_EQ(Outbox(kOutboxPending).size(), 2u);
  EXPECT_EQ(parent_->creates, 1);
  // A later round stays paused and sends nothing...
  report = Run(service);
  EXPECT_TRUE(report.paused);
  EXPECT_EQ(parent_->creates, 1);
  // ...until an operator pushes explicitly.
  options.resume_paused = true;
  SyncPushService resumed = Service(options);
  report = Run(resumed);
  EXPECT_FALSE(report.paused);
  EXPECT_EQ(report.sent, 2);
  auto pause = store_->PushPause();
  ASSERT_TRUE(pause.ok());
  EXPECT_EQ(*pause, "");
}

TEST_F(PushServiceTest, TransientFailuresBackOffThenDeadLetter) {
  Put("p", "");
  PushOptions options;
  options.max_attempts = 3;
  options.backoff_base_ms = 1000;
  SyncPushService service = Service(options);
  for (int i = 0; i < 3; ++i) parent_->AddFault(Fault{});
  PushReport report = Run(service);
  EXPECT_EQ(report.retrying, 1);
  auto pending = Outbox(kOutboxPending);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 1);
  EXPECT_EQ(pending[0].outcome, "transient");
  EXPECT_EQ(pending[0].last_http_status, 500);
  EXPECT_GE(pending[0].next_attempt_ms, now_ms_ + 500);
  EXPECT_LE(pending[0].next_attempt_ms, now_ms_ + 1000);
  // Not due yet: nothing is sent.
  report = Run(service);
  EXPECT_EQ(report.requests, 0);
  now_ms_ += 1000;
  report = Run(service);
  EXPECT_EQ(report.retrying, 1);
  pending = Outbox(kOutboxPending);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].attempts, 2);
  EXPECT_GE(pending[0].next_attempt_ms, now_ms_ + 1000);
  EXPECT_LE(pending[0].next_attempt_ms, now_ms_ + 2000);
  now_ms_ += 2000;
  report = Run(service);
  EXPECT_EQ(report.dead_lettered, 1);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].attempts, 3);
  EXPECT_THAT(dead[0].message, HasSubstr("gave up after 3 attempts"));
  // Each attempt is in the audit log, chained by retry_of, one correlation id.
  auto rows = Audit();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].retry_of, rows[0].audit_id);
  EXPECT_EQ(rows[2].retry_of, rows[1].audit_id);
  EXPECT_EQ(rows[0].correlation_id, rows[2].correlation_id);
}

TEST_F(PushServiceTest, AmbiguousFailureReadsBackBeforeResending) {
  Put("p", R"("gender":"male")");
  Fault lost;
  lost.ambiguous = true;
  lost.apply = true;  // it did land on the parent
  lost.http_status = 0;
  lost.message = "PUT Patient/p: ambiguous: connection reset after sending";
  parent_->AddFault(lost);
  SyncPushService service = Service();
  Run(service);
  auto pending = Outbox(kOutboxPending);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].outcome, "ambiguous");
  now_ms_ += 60'000;
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(parent_->reads, 1);
  EXPECT_EQ(parent_->creates, 1);  // not sent a second time
  EXPECT_EQ(parent_->Held("Patient/p").version, 1);
  auto rows = Audit("accepted");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].message, HasSubstr("had reached the parent"));
}

// Two nodes create a resource with the same host-given id offline; the
// parent took the other one first.
TEST_F(PushServiceTest, CreateOfAnIdTheParentHoldsWithOtherContentIsAConflictWithoutBase) {
  parent_->Put("Patient/mrn-1", R"({"resourceType":"Patient","id":"mrn-1","gender":"other"})");
  Put("mrn-1", R"("gender":"female")");
  Put("q", R"("gender":"male")");
  SyncPushService service = Service();
  PushReport report = Run(service);
  EXPECT_EQ(report.conflicts, 1);
  EXPECT_EQ(report.dead_lettered, 1);
  EXPECT_EQ(report.sent, 1);  // q, created in the same batch
  EXPECT_EQ(parent_->creates, 2);
  EXPECT_EQ(parent_->updates, 0);  // nothing was sent over the other create
  EXPECT_EQ(ParentField("Patient/mrn-1", "gender"), "other");
  EXPECT_EQ(parent_->Held("Patient/mrn-1").version, 1);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "mrn-1");
  EXPECT_EQ(dead[0].outcome, "conflict");
  EXPECT_EQ(dead[0].last_http_status, 412);
  EXPECT_THAT(dead[0].message,
              HasSubstr("Patient/mrn-1 was created here, but the parent already holds a resource "
                        "with this id (its version 1, created elsewhere) with different content"));
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  const ConflictRecord& c = conflicts->front();
  EXPECT_EQ(c.id, "mrn-1");
  EXPECT_EQ(c.base_version, 0);
  EXPECT_TRUE(c.base_body.empty());
  EXPECT_THAT(c.local_body, HasSubstr("\"female\""));
  EXPECT_THAT(c.remote_body, HasSubstr("\"other\""));
  EXPECT_EQ(c.remote_version, "1");
  auto rows = Audit("conflict");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].message, HasSubstr("created here and on the parent with the same id"));
  // The local record is still ours: nothing was lost.
  auto local = store_->Get("Patient", "mrn-1");
  ASSERT_TRUE(local.ok());
  EXPECT_THAT(local->body, HasSubstr("\"female\""));
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PushServiceTest, CreateOfAnIdTheParentHoldsWithTheSameContentIsAgreedNotAConflict) {
  // Both nodes imported the same file: the same content (the same content
  // hash), the parent's copy with its own meta stamps.
  parent_->Put("Patient/mrn-1",
               R"({"resourceType":"Patient","id":"mrn-1","gender":"female",)"
               R"("meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00Z"}})");
  Put("mrn-1", R"("gender":"female")");
  SyncPushService service = Service();
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(report.conflicts, 0);
  EXPECT_EQ(report.merged, 0);
  EXPECT_EQ(report.dead_lettered, 0);
  EXPECT_EQ(parent_->creates, 1);
  EXPECT_EQ(parent_->reads, 1);
  EXPECT_EQ(parent_->updates, 0);
  EXPECT_EQ(parent_->Held("Patient/mrn-1").version, 1);  // nothing re-sent
  EXPECT_EQ(Outbox(kOutboxSent).size(), 1u);
  EXPECT_TRUE(Outbox(kOutboxDead).empty());
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  EXPECT_TRUE(conflicts->empty());
  auto agreed = store_->GetSyncState("Patient", "mrn-1");
  ASSERT_TRUE(agreed.ok() && agreed->has_value());
  EXPECT_EQ((*agreed)->remote_version, "1");
  EXPECT_EQ((*agreed)->local_version, 1);
  auto rows = Audit("accepted");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].message, HasSubstr("the parent already holds the same content (version 1)"));
  EXPECT_EQ(rows[0].http_status, 412);  // the answer that led to the comparison
  // The next edit goes as an update over that version.
  Put("mrn-1", R"("gender":"male")");
  Run(service);
  EXPECT_EQ(parent_->expected_versions.back(), "1");
  EXPECT_EQ(ParentField("Patient/mrn-1", "gender"), "male");
}

// The create landed but its answer was lost without the item being marked
// ambiguous (a 503 from a proxy after the parent wrote it): the re-sent
// create meets our own copy and is settled as delivered.
TEST_F(PushServiceTest, OurOwnCreateMetAgainAfterALostAnswerIsNotAConflict) {
  Put("mrn-1", R"("gender":"female")");
  Fault lost{503, StatusCode::kUnavailable, "HTTP 503 Service Unavailable", "", false, true};
  parent_->AddFault(lost);
  SyncPushService service = Service();
  Run(service);
  ASSERT_EQ(Outbox(kOutboxPending).size(), 1u);
  now_ms_ += 60'000;
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(report.conflicts, 0);
  EXPECT_EQ(parent_->creates, 2);  // the second was refused: it held it already
  EXPECT_EQ(parent_->Held("Patient/mrn-1").version, 1);
  EXPECT_TRUE(Outbox(kOutboxDead).empty());
  auto conflicts = store_->ListConflicts("", 10);
  ASSERT_TRUE(conflicts.ok());
  EXPECT_TRUE(conflicts->empty());
  auto agreed = store_->GetSyncState("Patient", "mrn-1");
  ASSERT_TRUE(agreed.ok() && agreed->has_value());
  EXPECT_EQ((*agreed)->remote_version, "1");
}

// An ambiguous create whose read-back finds another node's copy at the id:
// a conflict at once, not a second create that could replace theirs.
TEST_F(PushServiceTest, AmbiguousCreateMeetingAnotherCopyIsAConflictNotASecondCreate) {
  Put("mrn-1", R"("gender":"female")");
  Fault lost;
  lost.ambiguous = true;
  lost.apply = false;  // ours never landed
  lost.http_status = 0;
  lost.message = "PUT Patient/mrn-1: ambiguous: connection reset after sending";
  parent_->AddFault(lost);
  SyncPushService service = Service();
  Run(service);
  ASSERT_EQ(Outbox(kOutboxPending).size(), 1u);
  parent_->Put("Patient/mrn-1", R"({"resourceType":"Patient","id":"mrn-1","gender":"other"})");
  now_ms_ += 60'000;
  PushReport report = Run(service);
  EXPECT_EQ(report.conflicts, 1);
  EXPECT_EQ(parent_->creates, 1);
  EXPECT_EQ(parent_->reads, 1);  // the read-back is the copy the conflict keeps
  EXPECT_EQ(ParentField("Patient/mrn-1", "gender"), "other");
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_THAT(conflicts->front().remote_body, HasSubstr("\"other\""));
  EXPECT_THAT(conflicts->front().local_body, HasSubstr("\"female\""));
}

TEST_F(PushServiceTest, DeleteOfAnAgreedResourceIsSentWithIfMatch) {
  Put("p", "");
  SyncPushService service = Service();
  Run(service);
  ASSERT_TRUE(store_->Delete("Patient", "p").ok());
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(parent_->deletes, 1);
  EXPECT_TRUE(parent_->Held("Patient/p").deleted);
}

TEST_F(PushServiceTest, CreatedAndDeletedLocallyIsNeverSent) {
  Put("p", "");
  ASSERT_TRUE(store_->Delete("Patient", "p").ok());
  SyncPushService service = Service();
  PushReport report = Run(service);
  EXPECT_EQ(report.requests, 0);
  EXPECT_EQ(Outbox(kOutboxSent).size(), 2u);
  EXPECT_EQ(Audit("local-only").size(), 1u);
}


// ---- Operator actions (PushOperations) ----

class PushOperationsTest : public PushServiceTest {
 protected:
  PushOperations Ops() { return PushOperations(store_.get(), routes_.get(), "parent-node"); }

  // p pushed, then edited here and on the parent in the same field: a
  // dead-lettered conflict.
  std::int64_t MakeConflict() {
    Put("p", R"("gender":"male","birthDate":"1970-01-01")");
    SyncPushService service = Service();
    Run(service);
    parent_->Put("Patient/p",
                 R"({"resourceType":"Patient","id":"p","gender":"other","birthDate":"1970-01-01"})");
    Put("p", R"("gender":"female","birthDate":"1970-01-01")");
    Run(service);
    auto conflicts = store_->ListConflicts(kConflictOpen, 10);
    EXPECT_TRUE(conflicts.ok() && conflicts->size() == 1u);
    return conflicts.ok() && !conflicts->empty() ? conflicts->front().conflict_id : 0;
  }
  std::string LocalField(const std::string& field) {
    auto local = store_->Get("Patient", "p");
    EXPECT_TRUE(local.ok());
    rapidjson::Document doc;
    doc.Parse(local->body.c_str());
    return doc.HasMember(field.c_str()) ? doc[field.c_str()].GetString() : "<none>";
  }
};

TEST_F(PushOperationsTest, RetryRequeuesADeadLetterWithItsCorrelationId) {
  Put("p", "");
  parent_->AddFault(Fault{422, StatusCode::kFailedPrecondition, "HTTP 422", "Negative stock",
                          false, false});
  SyncPushService service = Service();
  Run(service);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  auto done = Ops().Retry(dead[0].seq, false, "alice");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->requeued, std::vector<std::int64_t>{dead[0].seq});
  PushReport report = Run(service);
  EXPECT_EQ(report.sent, 1);
  auto sent = Outbox(kOutboxSent);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].correlation_id, dead[0].correlation_id);
  auto rows = Audit("requeued");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].operation, "retry");
  EXPECT_THAT(rows[0].message, HasSubstr("by alice"));
  EXPECT_NE(rows[0].retry_of, 0);
}

// The demo's operator path: a change the parent refuses (422) is dead-
// lettered; the next pull keeps the local copy and the parent's newer one
// beside it as a conflict; a corrected local edit and `retry` send the
// correction (merged with the parent's change), and the pull's conflict is
// settled by that merge rather than left open.
TEST_F(PushOperationsTest, CorrectedEditAfterADeadLetterIsWhatReachesTheParent) {
  Put("p", R"("gender":"male","birthDate":"1970-01-01")");
  SyncPushService service = Service();
  Run(service);
  Put("p", R"("gender":"male")");  // the birth date removed: the parent refuses it
  parent_->AddFault(Fault{422, StatusCode::kFailedPrecondition, "HTTP 422",
                          "business rule 'patient-birth-date'", false, false});
  Run(service);
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].outcome, "business-rule");

  // Meanwhile the parent took another node's change of another field, and
  // this node pulls it.
  parent_->Put("Patient/p", R"({"resourceType":"Patient","id":"p","gender":"male",)"
                            R"("birthDate":"1970-01-01","telecom":[{"value":"555"}]})");
  PullPage page;
  page.parent_node_id = "parent-node";
  page.feed = "atom";
  page.position = "1";
  PulledResource pulled;
  pulled.type = "Patient";
  pulled.id = "p";
  pulled.remote_version = "2";
  pulled.body = parent_->Held("Patient/p").body;
  page.resources.push_back(pulled);
  auto applied = store_->ApplyPull(page);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_EQ((*applied)[0].outcome, PullOutcome::kConflict);
  EXPECT_EQ(LocalField("birthDate"), "<none>");  // the local change is not hidden
  auto open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  const std::int64_t kept_by_pull = open->front().conflict_id;

  // The operator corrects the record and retries.
  Put("p", R"("gender":"male","birthDate":"1971-02-03")");
  auto waiting = Outbox(kOutboxPending);
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(Run(service).sent, 0);  // held back behind the dead letter
  auto done = Ops().Retry(dead[0].seq, false, "");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->requeued, (std::vector<std::int64_t>{dead[0].seq, waiting[0].seq}));
  PushReport report = Run(service);
  EXPECT_EQ(report.merged, 1);
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(report.dead_lettered, 0);
  // The correction reached the parent, merged with the other node's change.
  EXPECT_EQ(ParentField("Patient/p", "birthDate"), "1971-02-03");
  EXPECT_THAT(parent_->Held("Patient/p").body, HasSubstr("555"));
  EXPECT_EQ(LocalField("birthDate"), "1971-02-03");
  EXPECT_TRUE(Outbox(kOutboxDead).empty());
  EXPECT_TRUE(Outbox(kOutboxPending).empty());
  open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty()) << "the pull's conflict was left open";
  auto settled = store_->GetConflict(kept_by_pull);
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_EQ(settled->status, kConflictResolved);
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PushOperationsTest, RetryOfASentItemIsRefused) {
  Put("p", "");
  SyncPushService service = Service();
  Run(service);
  auto sent = Outbox(kOutboxSent);
  ASSERT_EQ(sent.size(), 1u);
  auto done = Ops().Retry(sent[0].seq, false, "");
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(done.status().message(), HasSubstr("is sent"));
  done = Ops().Retry(999, false, "");
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(done.status().message(), HasSubstr("outbox item 999 does not exist"));
}

TEST_F(PushOperationsTest, ForcedRetryOverwritesTheServerCopy) {
  std::int64_t conflict = MakeConflict();
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  auto done = Ops().Retry(dead[0].seq, true, "admin");
  ASSERT_TRUE(done.ok()) << done.status();
  PushReport report = Run(SyncPushServiceHolder());
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(ParentField("Patient/p", "gender"), "female");
  EXPECT_EQ(parent_->expected_versions.back(), "");  // no If-Match
  auto resolved = store_->GetConflict(conflict);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->status, kConflictResolved);
}

TEST_F(PushOperationsTest, DiscardRestoresTheServerCopyAndKeepsTheBodyInTheAudit) {
  MakeConflict();
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  auto done = Ops().Discard(dead[0].seq, "bob");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(LocalField("gender"), "other");
  EXPECT_TRUE(Outbox(kOutboxDead).empty());
  EXPECT_EQ(Outbox(kOutboxDiscarded).size(), 1u);
  auto rows = Audit("discarded");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0].message, HasSubstr("\"gender\":\"female\""));
  // Nothing is queued and nothing is sent afterwards.
  PushReport report = Run(SyncPushServiceHolder());
  EXPECT_EQ(report.requests, 0);
  auto agreed = store_->GetSyncState("Patient", "p");
  ASSERT_TRUE(agreed.ok() && agreed->has_value());
  EXPECT_EQ((*agreed)->remote_version, "2");
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PushOperationsTest, DiscardWhenTheParentIsUnreachableChangesNothing) {
  MakeConflict();
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  // A parent that answers 503 to every read.
  class Down : public FakeParent {
   public:
    ReadResult Read(const std::string&, const std::string&) override {
      ReadResult r;
      r.status = Status(StatusCode::kUnavailable, "HTTP 503 Service Unavailable");
      r.http_status = 503;
      return r;
    }
  };
  LoadedPlugin plugin;
  plugin.info.name = "down";
  plugin.transport = std::make_shared<Down>();
  std::vector<LoadedPlugin> plugins{plugin};
  auto routes = SyncResourceManager::Create(std::move(plugins), {}, {});
  ASSERT_TRUE(routes.ok());
  PushOperations ops(store_.get(), routes->get(), "parent-node");
  auto done = ops.Discard(dead[0].seq, "");
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(done.status().message(), HasSubstr("nothing was changed"));
  EXPECT_EQ(LocalField("gender"), "female");
  EXPECT_EQ(Outbox(kOutboxDead).size(), 1u);
}

TEST_F(PushOperationsTest, ResolveTakeServer) {
  std::int64_t conflict = MakeConflict();
  auto done = Ops().Resolve(conflict, ConflictChoice::kServer, "", "");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(LocalField("gender"), "other");
  EXPECT_EQ(Run(SyncPushServiceHolder()).requests, 0);
  auto again = Ops().Resolve(conflict, ConflictChoice::kServer, "", "");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("already resolved"));
}

TEST_F(PushOperationsTest, ResolveTakeLocalSendsOverTheServerVersion) {
  std::int64_t conflict = MakeConflict();
  auto done = Ops().Resolve(conflict, ConflictChoice::kLocal, "", "");
  ASSERT_TRUE(done.ok()) << done.status();
  PushReport report = Run(SyncPushServiceHolder());
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(ParentField("Patient/p", "gender"), "female");
  EXPECT_EQ(parent_->expected_versions.back(), "2");
  EXPECT_EQ(LocalField("gender"), "female");
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(PushOperationsTest, ResolveWithAMergedBody) {
  std::int64_t conflict = MakeConflict();
  auto bad = Ops().Resolve(conflict, ConflictChoice::kBody,
                           R"({"resourceType":"Observation","id":"p"})", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("not Patient/p"));
  auto done = Ops().Resolve(conflict, ConflictChoice::kBody,
                            R"({"resourceType":"Patient","id":"p","gender":"unknown"})", "");
  ASSERT_TRUE(done.ok()) << done.status();
  Run(SyncPushServiceHolder());
  EXPECT_EQ(ParentField("Patient/p", "gender"), "unknown");
  EXPECT_EQ(LocalField("gender"), "unknown");
}

// The conflict of two creates at one id, settled each way by the operator.
class CreatedTwiceTest : public PushOperationsTest {
 protected:
  std::int64_t MakeCreateConflict() {
    parent_->Put("Patient/p", R"({"resourceType":"Patient","id":"p","gender":"other"})");
    Put("p", R"("gender":"female")");
    Run(SyncPushServiceHolder());
    auto conflicts = store_->ListConflicts(kConflictOpen, 10);
    EXPECT_TRUE(conflicts.ok() && conflicts->size() == 1u);
    return conflicts.ok() && !conflicts->empty() ? conflicts->front().conflict_id : 0;
  }
};

TEST_F(CreatedTwiceTest, TakeLocalSendsOursOverTheOtherCreateWithIfMatch) {
  std::int64_t conflict = MakeCreateConflict();
  auto done = Ops().Resolve(conflict, ConflictChoice::kLocal, "", "");
  ASSERT_TRUE(done.ok()) << done.status();
  PushReport report = Run(SyncPushServiceHolder());
  EXPECT_EQ(report.sent, 1);
  EXPECT_EQ(parent_->expected_versions.back(), "1");
  EXPECT_EQ(ParentField("Patient/p", "gender"), "female");
  EXPECT_EQ(parent_->Held("Patient/p").version, 2);
  EXPECT_EQ(LocalField("gender"), "female");
  auto open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_F(CreatedTwiceTest, TakeServerKeepsTheOtherCreateAndSendsNothing) {
  std::int64_t conflict = MakeCreateConflict();
  auto done = Ops().Resolve(conflict, ConflictChoice::kServer, "", "");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(LocalField("gender"), "other");
  EXPECT_EQ(Run(SyncPushServiceHolder()).requests, 0);
  auto agreed = store_->GetSyncState("Patient", "p");
  ASSERT_TRUE(agreed.ok() && agreed->has_value());
  EXPECT_EQ((*agreed)->remote_version, "1");
  // Our body is kept in the audit log.
  AuditQuery query;
  query.operation = "resolve";
  auto rows = store_->QueryAudit(query);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_THAT(rows->front().message, HasSubstr("\"female\""));
}

TEST_F(CreatedTwiceTest, DiscardRestoresTheOtherCreate) {
  MakeCreateConflict();
  auto dead = Outbox(kOutboxDead);
  ASSERT_EQ(dead.size(), 1u);
  auto done = Ops().Discard(dead[0].seq, "");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(LocalField("gender"), "other");
  EXPECT_EQ(Run(SyncPushServiceHolder()).requests, 0);
  auto open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());
}

TEST_F(PushOperationsTest, ResubmitRequeuesWhatTheParentLacksOrHoldsDifferently) {
  Put("a", R"("gender":"male")");
  Put("b", R"("gender":"male")");
  Put("c", R"("gender":"male")");
  SyncPushService service = Service();
  Run(service);
  // The parent loses b (restored from an old backup) and changes c.
  FakeParent* parent = parent_.get();
  parent->Put("Patient/c", R"({"resourceType":"Patient","id":"c","gender":"female"})");
  auto fresh = std::make_shared<FakeParent>();
  fresh->Put("Patient/a", parent->Held("Patient/a").body);
  fresh->Put("Patient/c", parent->Held("Patient/c").body);
  LoadedPlugin plugin;
  plugin.info.name = "fresh";
  plugin.transport = fresh;
  std::vector<LoadedPlugin> plugins{plugin};
  auto routes = SyncResourceManager::Create(std::move(plugins), {}, {});
  ASSERT_TRUE(routes.ok());
  PushOperations ops(store_.get(), routes->get(), "parent-node");
  auto report = ops.Resubmit(0, now_ms_ * 2, "admin");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->checked, 3);
  EXPECT_EQ(report->same, 1);
  EXPECT_EQ(report->requeued, 2);
  EXPECT_EQ(Outbox(kOutboxPending).size(), 2u);
  EXPECT_EQ(Audit("requeued").size(), 2u);
  auto empty = ops.Resubmit(5, 5, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST(PushClassifyTest, EveryAnswerClass) {
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(Status(), 200)), "accepted");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(AbortedError("x"), 409)), "conflict");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(AbortedError("x"), 412)), "conflict");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(FailedPreconditionError("x"), 422)), "business-rule");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(InvalidArgumentError("x"), 400)), "invalid");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(NotFoundError("x"), 404)), "not-found");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(NotFoundError("x"), 410)), "gone");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(UnauthenticatedError("x"), 401)), "auth");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(PermissionDeniedError("x"), 403)), "auth");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(UnavailableError("x"), 503)), "transient");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(UnavailableError("connection refused"), 0)), "transient");
  EXPECT_EQ(PushOutcomeName(ClassifyPushAnswer(DeadlineExceededError("timeout"), 0)), "transient");
}

TEST(PushBackoffTest, DoublesCapsAndJitters) {
  EXPECT_EQ(PushBackoffMs(1, 1000, 60000, 1.0), 1000);
  EXPECT_EQ(PushBackoffMs(1, 1000, 60000, 0.0), 500);
  EXPECT_EQ(PushBackoffMs(3, 1000, 60000, 1.0), 4000);
  EXPECT_EQ(PushBackoffMs(30, 1000, 60000, 1.0), 60000);
  EXPECT_EQ(PushBackoffMs(30, 1000, 60000, 0.0), 30000);
}

}  // namespace
}  // namespace fhirsync
