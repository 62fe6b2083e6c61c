// The store's push section on both backends: outbox listing and due
// filtering, state transitions, sync_state, conflicts, the push pause, the
// audit log, RecordPush's all-or-nothing transaction and the schema
// migration from version 1.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <string>
#include <vector>

#include "fhirsync/audit_log.h"
#include "fhirsync/local_store.h"
#include "store/store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

class PushStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") schema_ = std::make_unique<testing::PostgresSchema>();
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<LocalStore> Open() {
    StoreConfig config;
    config.backend = GetParam();
    if (schema_) config.connection = schema_->connection();
    auto store = OpenLocalStore(config, dir_.path(), "node-1");
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  WriteResult Put(const std::string& id, const std::string& gender) {
    WriteOp op;
    op.type = "Patient";
    op.id = id;
    op.body = R"({"resourceType":"Patient","id":")" + id + R"(","gender":")" + gender + "\"}";
    auto result = store_->Put(op);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : WriteResult{};
  }
  std::vector<OutboxItem> List(OutboxQuery query) {
    auto items = store_->ListOutbox(query);
    EXPECT_TRUE(items.ok()) << items.status();
    return items.ok() ? *items : std::vector<OutboxItem>{};
  }
  std::vector<std::int64_t> Seqs(const std::vector<OutboxItem>& items) {
    std::vector<std::int64_t> seqs;
    for (const OutboxItem& item : items) seqs.push_back(item.seq);
    return seqs;
  }

  testing::ScratchDir dir_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<LocalStore> store_;
};

TEST_P(PushStoreTest, NewItemsArePendingWithACorrelationIdAndBody) {
  WriteResult w = Put("a", "male");
  OutboxQuery query;
  query.with_bodies = true;
  auto items = List(query);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].seq, w.seq);
  EXPECT_EQ(items[0].state, kOutboxPending);
  EXPECT_EQ(items[0].action, ChangeAction::kCreate);
  EXPECT_EQ(items[0].correlation_id.size(), 36u);
  EXPECT_THAT(items[0].body, HasSubstr("\"male\""));
  EXPECT_EQ(items[0].content_hash.size(), 64u);
  EXPECT_EQ(items[0].attempts, 0);
}

TEST_P(PushStoreTest, DueItemsSkipResourcesBehindADeadLetterOrABackoff) {
  WriteResult a1 = Put("a", "male");
  WriteResult b1 = Put("b", "male");
  WriteResult a2 = Put("a", "female");
  WriteResult c1 = Put("c", "male");
  PushRecord record;
  OutboxTransition dead;
  dead.seq = a1.seq;
  dead.state = kOutboxDead;
  dead.count_attempt = true;
  dead.http_status = 422;
  dead.outcome = "business-rule";
  dead.message = "Negative stock";
  OutboxTransition later;
  later.seq = b1.seq;
  later.state = kOutboxPending;
  later.count_attempt = true;
  later.http_status = 503;
  later.outcome = "transient";
  later.next_attempt_ms = 5000;
  record.transitions = {dead, later};
  ASSERT_TRUE(store_->RecordPush(record).ok());
  OutboxQuery due;
  due.due_at_ms = 4000;
  EXPECT_EQ(Seqs(List(due)), std::vector<std::int64_t>{c1.seq});
  due.due_at_ms = 5000;
  EXPECT_EQ(Seqs(List(due)), (std::vector<std::int64_t>{b1.seq, c1.seq}));
  OutboxQuery by_state;
  by_state.states = {kOutboxDead};
  auto dead_items = List(by_state);
  ASSERT_EQ(dead_items.size(), 1u);
  EXPECT_EQ(dead_items[0].attempts, 1);
  EXPECT_EQ(dead_items[0].last_http_status, 422);
  EXPECT_EQ(dead_items[0].message, "Negative stock");
  OutboxQuery one;
  one.type = "Patient";
  one.id = "a";
  EXPECT_EQ(Seqs(List(one)), (std::vector<std::int64_t>{a1.seq, a2.seq}));
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();
}

TEST_P(PushStoreTest, RecordPushWritesEverythingInOneTransaction) {
  WriteResult local = Put("p", "female");
  PushRecord record;
  record.parent_node_id = "parent-1";
  record.correlation_id = "corr-1";
  WriteOp server;
  server.type = "Patient";
  server.id = "p";
  server.body = R"({"resourceType":"Patient","id":"p","gender":"male"})";
  server.expected_version = local.version;
  record.server_copy = server;
  WriteOp merged = server;
  merged.expected_version.reset();
  merged.body = R"({"resourceType":"Patient","id":"p","gender":"other"})";
  record.local_write = merged;
  OutboxTransition replaced;
  replaced.seq = local.seq;
  replaced.state = kOutboxReplaced;
  replaced.outcome = "merged";
  record.transitions = {replaced};
  SyncState agreed;
  agreed.type = "Patient";
  agreed.id = "p";
  agreed.remote_version = "7";
  agreed.content_hash = "h";
  record.agreed = {agreed};
  ConflictRecord conflict;
  conflict.type = "Patient";
  conflict.id = "p";
  conflict.local_body = "{}";
  conflict.remote_version = "7";
  record.new_conflict = conflict;
  AuditRecord first;
  first.operation = "push";
  first.outcome = "merged";
  first.type = "Patient";
  first.id = "p";
  AuditRecord second = first;
  second.retry_of = -1;  // the first row of this record
  record.audit = {first, second};
  record.pause = "HTTP 401: no";
  auto done = store_->RecordPush(record);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_TRUE(done->server_copy && done->local_write);
  EXPECT_EQ(done->server_copy->version, 2);
  EXPECT_EQ(done->local_write->version, 3);
  EXPECT_GT(done->conflict_id, 0);
  ASSERT_EQ(done->audit_ids.size(), 2u);

  auto history = store_->Changes(ChangeQuery{});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[1].origin, "parent-1");
  EXPECT_EQ((*history)[2].origin, "node-1");
  auto state = store_->GetSyncState("Patient", "p");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->remote_version, "7");
  EXPECT_EQ((*state)->local_version, 2);
  OutboxQuery pending;
  pending.states = {kOutboxPending};
  auto items = List(pending);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].version, 3);
  EXPECT_EQ(items[0].correlation_id, "corr-1");
  auto rows = store_->QueryAudit(AuditQuery{});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[1].retry_of, (*rows)[0].audit_id);
  EXPECT_EQ((*rows)[0].local_version, 3);
  EXPECT_EQ(*store_->PushPause(), "HTTP 401: no");
  auto conflicts = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(conflicts.ok());
  ASSERT_EQ(conflicts->size(), 1u);
  EXPECT_EQ(conflicts->front().remote_version, "7");
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity();

  PushRecord lift;
  lift.pause = "";
  lift.resolve_conflict_id = done->conflict_id;
  ASSERT_TRUE(store_->RecordPush(lift).ok());
  EXPECT_EQ(*store_->PushPause(), "");
  auto resolved = store_->GetConflict(done->conflict_id);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->status, kConflictResolved);
  EXPECT_GT(resolved->resolved_ms, 0);
}

TEST_P(PushStoreTest, AFailingPartLeavesNothingBehind) {
  WriteResult local = Put("p", "female");
  Put("p", "other");  // a newer local edit: the guarded server copy must fail
  PushRecord record;
  record.parent_node_id = "parent-1";
  WriteOp server;
  server.type = "Patient";
  server.id = "p";
  server.body = R"({"resourceType":"Patient","id":"p","gender":"male"})";
  server.expected_version = local.version;
  record.server_copy = server;
  OutboxTransition t;
  t.seq = local.seq;
  t.state = kOutboxSent;
  record.transitions = {t};
  AuditRecord row;
  row.operation = "push";
  row.outcome = "accepted";
  record.audit = {row};
  auto done = store_->RecordPush(record);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kAborted);
  EXPECT_THAT(done.status().message(), HasSubstr("restore the server copy"));
  OutboxQuery pending;
  pending.states = {kOutboxPending};
  EXPECT_EQ(List(pending).size(), 2u);
  EXPECT_TRUE(store_->QueryAudit(AuditQuery{})->empty());
  // An unknown item is refused the same way.
  PushRecord unknown;
  OutboxTransition missing;
  missing.seq = 999;
  missing.state = kOutboxSent;
  unknown.transitions = {missing};
  unknown.audit = {row};
  done = store_->RecordPush(unknown);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(done.status().message(), HasSubstr("outbox item 999 does not exist"));
  EXPECT_TRUE(store_->QueryAudit(AuditQuery{})->empty());
}

TEST_P(PushStoreTest, AuditQueriesFilter) {
  AuditLog log(store_.get());
  AuditRecord row;
  row.operation = "push";
  row.outcome = "accepted";
  row.at_ms = 1000;
  row.correlation_id = "c1";
  ASSERT_TRUE(log.Append(row).ok());
  row.outcome = "transient";
  row.at_ms = 2000;
  ASSERT_TRUE(log.Append(row).ok());
  row.operation = "retry";
  row.outcome = "requeued";
  row.correlation_id = "c2";
  row.at_ms = 3000;
  ASSERT_TRUE(log.Append(row).ok());
  AuditQuery query;
  query.since_ms = 2000;
  EXPECT_EQ(log.Query(query)->size(), 2u);
  query = AuditQuery{};
  query.outcome = "transient";
  EXPECT_EQ(log.Query(query)->size(), 1u);
  query = AuditQuery{};
  query.operation = "push";
  query.correlation_id = "c1";
  EXPECT_EQ(log.Query(query)->size(), 2u);
  AuditRecord bad;
  bad.operation = "push";
  auto refused = log.Append(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("needs an outcome"));
}

TEST_P(PushStoreTest, ConflictLookupOfAnUnknownIdSaysSo) {
  auto missing = store_->GetConflict(42);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("conflict 42 does not exist"));
}

// `fhirsync status` shows when the parent last answered and when a pull
// last completed: recorded in the pull's and the push's own transactions.
TEST_P(PushStoreTest, ParentContactIsRecordedByPullAndPush) {
  auto never = store_->GetParentContact();
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_EQ(never->last_contact_ms, 0);
  EXPECT_EQ(never->last_pull_ms, 0);

  // A pull page that is not the last: a contact, not a completed pull.
  const std::int64_t before = NowMillis();
  PullPage page;
  page.parent_node_id = "parent-1";
  page.feed = "atom";
  page.position = "p1";
  ASSERT_TRUE(store_->ApplyPull(page).ok());
  auto contact = store_->GetParentContact();
  ASSERT_TRUE(contact.ok()) << contact.status();
  EXPECT_GE(contact->last_contact_ms, before);
  EXPECT_EQ(contact->last_pull_ms, 0);
  page.position = "p2";
  page.completes_pull = true;
  ASSERT_TRUE(store_->ApplyPull(page).ok());
  contact = store_->GetParentContact();
  EXPECT_GE(contact->last_pull_ms, before);

  // A push step the parent did not answer leaves the contact alone; one it
  // answered moves it.
  WriteResult w = Put("a", "male");
  const std::int64_t pulled_at = contact->last_contact_ms;
  PushRecord silent;
  OutboxTransition t;
  t.seq = w.seq;
  t.state = kOutboxPending;
  t.outcome = "transient";
  silent.transitions = {t};
  ASSERT_TRUE(store_->RecordPush(silent).ok());
  EXPECT_EQ(store_->GetParentContact()->last_contact_ms, pulled_at);
  while (NowMillis() == pulled_at) {
  }
  PushRecord answered;
  t.state = kOutboxSent;
  t.http_status = 201;
  t.outcome = "accepted";
  answered.transitions = {t};
  answered.parent_answered = true;
  ASSERT_TRUE(store_->RecordPush(answered).ok());
  EXPECT_GT(store_->GetParentContact()->last_contact_ms, pulled_at);
  EXPECT_EQ(store_->GetParentContact()->last_pull_ms, contact->last_pull_ms);

  // A push step that fails records nothing, the contact included.
  const std::int64_t answered_at = store_->GetParentContact()->last_contact_ms;
  while (NowMillis() == answered_at) {
  }
  PushRecord failing;
  OutboxTransition missing;
  missing.seq = 999;
  missing.state = kOutboxSent;
  failing.transitions = {missing};
  failing.parent_answered = true;
  ASSERT_FALSE(store_->RecordPush(failing).ok());
  EXPECT_EQ(store_->GetParentContact()->last_contact_ms, answered_at);
}

// A pull that meets the pending change keeps the server copy as a conflict;
// the push that then clashes too updates that conflict instead of adding a
// second one, and once the change has gone (sent) the conflict is settled,
// with an audit row. While the change still waits it stays open.
TEST_P(PushStoreTest, OneOpenConflictPerResourceSettledWhenItsChangeIsSent) {
  WriteResult local = Put("p", "female");
  PullPage page;
  page.parent_node_id = "parent-1";
  page.feed = "atom";
  page.position = "1";
  PulledResource server;
  server.type = "Patient";
  server.id = "p";
  server.remote_version = "2";
  server.body = R"({"resourceType":"Patient","id":"p","gender":"male"})";
  page.resources = {server};
  auto pulled = store_->ApplyPull(page);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  ASSERT_EQ((*pulled)[0].outcome, PullOutcome::kConflict);
  auto open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_EQ(open->size(), 1u);
  const std::int64_t pull_conflict = (*open)[0].conflict_id;

  PushRecord clash;
  OutboxTransition dead;
  dead.seq = local.seq;
  dead.state = kOutboxDead;
  dead.outcome = "conflict";
  dead.http_status = 412;
  clash.transitions = {dead};
  ConflictRecord conflict;
  conflict.type = "Patient";
  conflict.id = "p";
  conflict.outbox_seq = local.seq;
  conflict.local_version = local.version;
  conflict.local_body = R"({"resourceType":"Patient","id":"p","gender":"female"})";
  conflict.remote_version = "3";
  conflict.remote_body = R"({"resourceType":"Patient","id":"p","gender":"other"})";
  clash.new_conflict = conflict;
  auto recorded = store_->RecordPush(clash);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_EQ(recorded->conflict_id, pull_conflict);
  open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].remote_version, "3");
  EXPECT_THAT((*open)[0].remote_body, HasSubstr("other"));

  PushRecord retry;
  OutboxTransition pending;
  pending.seq = local.seq;
  pending.state = kOutboxPending;
  retry.transitions = {pending};
  ASSERT_TRUE(store_->RecordPush(retry).ok());
  open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->size(), 1u) << "the change still waits";

  PushRecord sent;
  OutboxTransition accepted;
  accepted.seq = local.seq;
  accepted.state = kOutboxSent;
  accepted.http_status = 200;
  accepted.outcome = "accepted";
  sent.transitions = {accepted};
  ASSERT_TRUE(store_->RecordPush(sent).ok());
  open = store_->ListConflicts(kConflictOpen, 10);
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());
  auto settled = store_->GetConflict(pull_conflict);
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(settled->status, kConflictResolved);
  EXPECT_GT(settled->resolved_ms, 0);
  AuditQuery query;
  query.outcome = "settled";
  auto rows = store_->QueryAudit(query);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].operation, "resolve");
  EXPECT_THAT((*rows)[0].message,
              HasSubstr("conflict " + std::to_string(pull_conflict) + " settled"));
}

INSTANTIATE_TEST_SUITE_P(Backends, PushStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// The names of the tables, views and indexes of a SQLite file, as
// "type:name".
std::vector<std::string> SchemaObjects(const std::string& path) {
  std::vector<std::string> names;
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return names;
  sqlite3_stmt* query = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT type || ':' || name FROM sqlite_master"
                     " WHERE name NOT LIKE 'sqlite_%' ORDER BY 1",
                     -1, &query, nullptr);
  while (sqlite3_step(query) == SQLITE_ROW) {
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(query, 0)));
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  return names;
}

// A store written by schema version 1 (before the push section, with a
// `resources` table) is migrated in place when opened, through version 2 to
// version 3, keeping its resources and its outbox.
TEST(PushStoreMigrationTest, VersionOneStoreIsMigrated) {
  testing::ScratchDir dir;
  StoreConfig config;
  std::string path = dir.path() + "/store.sqlite";
  {
    auto store = OpenLocalStore(config, dir.path(), "node-1");
    ASSERT_TRUE(store.ok()) << store.status();
    WriteOp op;
    op.type = "Patient";
    op.id = "old";
    op.body = R"({"resourceType":"Patient","id":"old"})";
    ASSERT_TRUE((*store)->Put(op).ok());
  }
  // Turn it into what a version-1 build would have left: a `resources`
  // table pointing at the current change, and none of version 2's columns
  // and indexes.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  for (const char* sql :
       {"DROP VIEW resources",
        "CREATE TABLE resources (type TEXT NOT NULL, id TEXT NOT NULL,"
        " version INTEGER NOT NULL, seq INTEGER NOT NULL REFERENCES changes (seq),"
        " last_updated_ms INTEGER NOT NULL, deleted INTEGER NOT NULL, format TEXT NOT NULL,"
        " content_hash TEXT NOT NULL, PRIMARY KEY (type, id)) WITHOUT ROWID",
        "INSERT INTO resources SELECT type, id, version, seq, at_ms, deleted, format,"
        " content_hash FROM changes",
        "DROP INDEX audit_by_correlation", "ALTER TABLE outbox DROP COLUMN message",
        "ALTER TABLE outbox DROP COLUMN force_write",
        "ALTER TABLE audit DROP COLUMN correlation_id",
        "UPDATE meta SET value = '1' WHERE key = 'schema_version'"}) {
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  ASSERT_THAT(SchemaObjects(path), ::testing::Contains("table:resources"));
  auto store = OpenLocalStore(config, dir.path(), "node-1");
  ASSERT_TRUE(store.ok()) << store.status();
  auto items = (*store)->ListOutbox(OutboxQuery{});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(items->front().id, "old");
  EXPECT_EQ(items->front().message, "");
  auto old = (*store)->Get("Patient", "old");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->version, 1);
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  // Version 3: the pointer table became a view, and version 2's outbox
  // index is gone again.
  std::vector<std::string> objects = SchemaObjects(path);
  EXPECT_THAT(objects, ::testing::Contains("view:resources"));
  EXPECT_THAT(objects, ::testing::Not(::testing::Contains("table:resources")));
  EXPECT_THAT(objects, ::testing::Not(::testing::Contains("index:outbox_by_resource")));
  EXPECT_THAT(objects, ::testing::Contains("index:audit_by_correlation"));
}

}  // namespace
}  // namespace fhirsync
