// FhirClient and the Atom feed reader against the real fhirsync parent, on
// 127.0.0.1 port 0 (label integration), twice: a NodeServer over a real
// SQLite store in this process, and a real `fhirsync serve` process. This checks that the client understands the
// server's answers (versions, 404/410/412/401/403, batch, paging) and that
// the feed reader reads the server's own page writer over HTTP.

#include <signal.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/feed/feed_navigator.h"
#include "fhirsync/feed/http_page_fetcher.h"
#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::fhir {
namespace {

using ::testing::HasSubstr;

constexpr int kFeedPageSize = 3;

// PBKDF2 is slow on purpose: the users are made once per program.
const NodeConfig& BaseConfig() {
  static const NodeConfig config = [] {
    NodeConfig c;
    c.node_id = "parent-under-test";
    c.server.bind = "127.0.0.1";
    c.server.port = 0;
    c.server.feed_page_size = kFeedPageSize;
    c.server.threads = 4;
    c.server.users.push_back(*MakeUser("writer", "writer-pw", {"read", "write"}));
    c.server.users.push_back(*MakeUser("reader", "reader-pw", {"read"}));
    return c;
  }();
  return config;
}

std::string PatientBody(const std::string& id, const std::string& family) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
         R"("}]})";
}

// Where the parent runs: in this process (NodeServer over a SQLite store) or
// as a real `fhirsync serve` process over its own node folder.
enum class ParentKind { kInProcess, kProcess };

std::string ParentKindName(const ::testing::TestParamInfo<ParentKind>& info) {
  return info.param == ParentKind::kInProcess ? "InProcess" : "ServeProcess";
}

class FhirClientServerTest : public ::testing::TestWithParam<ParentKind> {
 protected:
  void SetUp() override {
    if (GetParam() == ParentKind::kInProcess) {
      StartInProcess();
    } else {
      StartProcess();
    }
  }

  void TearDown() override {
    if (child_.Running()) {
      child_.Signal(SIGTERM);
      child_.Wait(std::chrono::seconds(20));
    }
  }

  void StartInProcess() {
    StoreConfig store_config;
    store_config.path = dir_.path() + "/store.sqlite";
    auto store = OpenLocalStore(store_config, dir_.path(), BaseConfig().node_id);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    NodeServer::Options options;
    server_ = std::make_unique<NodeServer>(BaseConfig(), *store_, options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
    base_url_ = server_->base_url();
  }

  void StartProcess() {
    const std::string node = dir_.path() + "/node";
    auto init = ::fhirsync::testing::RunProcess(
        {FHIRSYNC_BINARY, "init", "--dir", node, "--node-id", BaseConfig().node_id});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(node);
    ASSERT_TRUE(config.ok()) << config.status();
    config->server.feed_page_size = kFeedPageSize;
    config->server.users = BaseConfig().server.users;
    ASSERT_TRUE(SaveNodeConfig(node, *config).ok());
    std::string error;
    ASSERT_TRUE(child_.Start({FHIRSYNC_BINARY, "serve", "--dir", node, "--bind", "127.0.0.1",
                              "--port", "0"},
                             {}, &error))
        << error;
    const std::string prefix = "listening on http://127.0.0.1:";
    ASSERT_TRUE(child_.WaitForStdout(prefix, std::chrono::milliseconds(30000)))
        << "no listening line; stderr: " << child_.Stderr();
    std::string out = child_.Stdout();
    int port = std::stoi(out.substr(out.find(prefix) + prefix.size()));
    ASSERT_GT(port, 0);
    base_url_ = "http://127.0.0.1:" + std::to_string(port);
  }

  FhirClientOptions Options(const std::string& user = "writer",
                            const std::string& password = "writer-pw") const {
    FhirClientOptions options;
    options.base_url = base_url_ + "/fhir";
    options.username = user;
    options.password = password;
    options.io_timeout_ms = 10000;
    // Poco counts a connection's idle time from the previous request's
    // sending, so an answer slower than the idle limit (the parent's first
    // PBKDF2 check takes several seconds under ASan) would count as idle and
    // open a second connection; stay below the server's 10 s head timeout.
    options.keep_alive_idle_ms = 9000;
    return options;
  }

  ::fhirsync::testing::TempDir dir_{"fhirsync-fhir-client"};
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
  ::fhirsync::testing::ChildProcess child_;
  std::string base_url_;  // "http://127.0.0.1:port"
};

INSTANTIATE_TEST_SUITE_P(Parents, FhirClientServerTest,
                         ::testing::Values(ParentKind::kInProcess, ParentKind::kProcess),
                         ParentKindName);

TEST_P(FhirClientServerTest, CrudWithVersionsAndEveryErrorClass) {
  FhirClient client(Options());
  FhirResult created = client.CreateAt("Patient", "p1", PatientBody("p1", "Chalmers"));
  ASSERT_TRUE(created.ok()) << created.status;
  EXPECT_EQ(created.version_id, "1");
  EXPECT_THAT(created.http_status, ::testing::AnyOf(200, 201));

  FhirResult read = client.Read("Patient", "p1");
  ASSERT_TRUE(read.ok()) << read.status;
  EXPECT_EQ(read.version_id, "1");
  EXPECT_THAT(read.body, HasSubstr(R"("family":"Chalmers")"));
  EXPECT_FALSE(read.last_modified.empty());

  FhirResult updated = client.Update("Patient", "p1", PatientBody("p1", "Windsor"), "1");
  ASSERT_TRUE(updated.ok()) << updated.status;
  EXPECT_EQ(updated.version_id, "2");

  FhirResult stale = client.Update("Patient", "p1", PatientBody("p1", "Stale"), "1");
  EXPECT_EQ(stale.status.code(), StatusCode::kAborted) << stale.status;
  EXPECT_EQ(stale.http_status, 412);
  EXPECT_FALSE(stale.outcome_text.empty());
  EXPECT_THAT(stale.status.message(), HasSubstr("PUT Patient/p1: HTTP 412"));

  FhirResult old = client.VRead("Patient", "p1", "1");
  ASSERT_TRUE(old.ok()) << old.status;
  EXPECT_THAT(old.body, HasSubstr("Chalmers"));

  FhirResult missing = client.Read("Patient", "nobody");
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.http_status, 404);
  EXPECT_FALSE(missing.gone);

  FhirResult deleted = client.Delete("Patient", "p1");
  ASSERT_TRUE(deleted.ok()) << deleted.status;
  FhirResult gone = client.Read("Patient", "p1");
  EXPECT_EQ(gone.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.http_status, 410);
  EXPECT_TRUE(gone.gone);

  FhirResult mismatch = client.CreateAt("Patient", "p2", PatientBody("other-id", "X"));
  EXPECT_EQ(mismatch.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(mismatch.http_status, 400);
  EXPECT_FALSE(mismatch.outcome_text.empty());

  FhirClient wrong_password(Options("writer", "nope"));
  FhirResult unauthenticated = wrong_password.Read("Patient", "p1");
  EXPECT_EQ(unauthenticated.status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unauthenticated.http_status, 401);

  FhirClient reader(Options("reader", "reader-pw"));
  FhirResult forbidden = reader.CreateAt("Patient", "p3", PatientBody("p3", "Y"));
  EXPECT_EQ(forbidden.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(forbidden.http_status, 403);
  EXPECT_FALSE(forbidden.ambiguous);

  EXPECT_EQ(client.connections_opened(), 1);  // keep-alive held throughout
}

TEST_P(FhirClientServerTest, CreateAtNeverReplacesAResourceTheServerHolds) {
  FhirClient client(Options());
  ASSERT_TRUE(client.CreateAt("Patient", "mrn-1", PatientBody("mrn-1", "First")).ok());
  // Another node's create at the same id: refused, naming the resource and
  // the version the server holds; the first body stays.
  FhirResult second = client.CreateAt("Patient", "mrn-1", PatientBody("mrn-1", "Second"));
  EXPECT_EQ(second.status.code(), StatusCode::kAborted) << second.status;
  EXPECT_EQ(second.http_status, 412);
  EXPECT_THAT(second.outcome_text, HasSubstr("Patient/mrn-1 already exists (version 1)"));
  FhirResult read = client.Read("Patient", "mrn-1");
  ASSERT_TRUE(read.ok()) << read.status;
  EXPECT_EQ(read.version_id, "1");
  EXPECT_THAT(read.body, HasSubstr("First"));

  // A deleted resource may be created again.
  ASSERT_TRUE(client.Delete("Patient", "mrn-1", "1").ok());
  FhirResult again = client.CreateAt("Patient", "mrn-1", PatientBody("mrn-1", "Again"));
  ASSERT_TRUE(again.ok()) << again.status;
  EXPECT_EQ(again.version_id, "3");

  // In a batch Bundle (request.ifNoneMatch), each entry on its own.
  BatchWrite taken;
  taken.type = "Patient";
  taken.id = "mrn-1";
  taken.body = PatientBody("mrn-1", "Batched");
  taken.if_none_match = true;
  BatchWrite fresh = taken;
  fresh.id = "mrn-2";
  fresh.body = PatientBody("mrn-2", "Batched");
  BatchWriteOutcome batch = client.WriteBatch({taken, fresh});
  ASSERT_TRUE(batch.bundle_status.ok()) << batch.bundle_status;
  EXPECT_EQ(batch.entries[0].status.code(), StatusCode::kAborted) << batch.entries[0].status;
  EXPECT_EQ(batch.entries[0].http_status, 412);
  EXPECT_THAT(batch.entries[0].outcome_text,
              HasSubstr("Patient/mrn-1 already exists (version 3)"));
  EXPECT_TRUE(batch.entries[1].ok()) << batch.entries[1].status;
  EXPECT_EQ(batch.entries[1].http_status, 201);
  EXPECT_THAT(client.Read("Patient", "mrn-1").body, HasSubstr("Again"));

  // An update without If-Match still replaces (an operator's forced retry).
  FhirResult forced = client.Update("Patient", "mrn-1", PatientBody("mrn-1", "Forced"), "");
  ASSERT_TRUE(forced.ok()) << forced.status;
  EXPECT_EQ(forced.version_id, "4");
}

TEST_P(FhirClientServerTest, ReadManyCapabilitiesAndHistoryPaging) {
  FhirClient client(Options());
  for (const char* id : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(client.CreateAt("Patient", id, PatientBody(id, "F")).ok());
  }
  ASSERT_TRUE(client.Update("Patient", "a", PatientBody("a", "G"), "1").ok());
  ASSERT_TRUE(client.Delete("Patient", "d").ok());

  auto caps = client.Capabilities();
  ASSERT_TRUE(caps.ok()) << caps.status();
  EXPECT_EQ(caps->fhir_version, "4.0.1");
  EXPECT_TRUE(caps->Supports("Patient", "read"));
  EXPECT_TRUE(caps->Supports("Patient", "update"));

  for (ReadManyMode mode : {ReadManyMode::kAuto, ReadManyMode::kBatch, ReadManyMode::kIdSearch}) {
    SCOPED_TRACE(static_cast<int>(mode));
    FhirClientOptions options = Options();
    options.read_many_mode = mode;
    options.read_many_chunk = 2;
    FhirClient many(options);
    auto results = many.ReadMany("Patient", {"a", "b", "zz", "c"});
    ASSERT_TRUE(results.ok()) << results.status();
    ASSERT_EQ(results->size(), 4u);
    EXPECT_TRUE((*results)[0].ok()) << (*results)[0].status;
    EXPECT_EQ((*results)[0].version_id, "2");
    EXPECT_THAT((*results)[0].body, HasSubstr(R"("family":"G")"));
    EXPECT_TRUE((*results)[1].ok());
    EXPECT_EQ((*results)[2].status.code(), StatusCode::kNotFound);
    EXPECT_TRUE((*results)[3].ok());
  }

  FhirClientOptions options = Options();
  options.history_page_size = 2;
  FhirClient paged(options);
  std::vector<HistoryEntry> entries;
  int pages = 0;
  Status history = paged.History("Patient", "2000-01-01T00:00:00Z", [&](HistoryPage&& page) {
    ++pages;
    EXPECT_LE(page.entries.size(), 2u);  // _count=2 was honoured
    for (HistoryEntry& entry : page.entries) entries.push_back(std::move(entry));
    return Status::Ok();
  });
  ASSERT_TRUE(history.ok()) << history;
  EXPECT_EQ(entries.size(), 6u);  // 4 creates, 1 update, 1 delete
  // Three full pages; a server may add an empty last page behind a full one.
  EXPECT_GE(pages, 3);
  std::set<std::string> versions;
  int deletes = 0;
  for (const HistoryEntry& entry : entries) {
    EXPECT_EQ(entry.resource_type, "Patient");
    versions.insert(entry.id + "/" + entry.version_id);
    if (entry.deleted) {
      ++deletes;
      EXPECT_EQ(entry.id, "d");
    }
  }
  EXPECT_EQ(deletes, 1);
  EXPECT_EQ(versions, (std::set<std::string>{"a/1", "a/2", "b/1", "c/1", "d/1", "d/2"}));
}

TEST_P(FhirClientServerTest, FeedReaderFollowsTheServersOwnAtomPages) {
  FhirClient client(Options());
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back("f" + std::to_string(i));
  for (const std::string& id : ids) {
    ASSERT_TRUE(client.CreateAt("Patient", id, PatientBody(id, "F")).ok());
  }
  ASSERT_TRUE(client.Update("Patient", "f0", PatientBody("f0", "G"), "1").ok());
  ASSERT_TRUE(client.Delete("Patient", "f1").ok());

  feed::HttpPageFetcherOptions fetch_options;
  fetch_options.parent_url = base_url_;
  fetch_options.username = "reader";
  fetch_options.password = "reader-pw";
  feed::HttpPageFetcher fetcher(fetch_options);
  feed::FeedNavigator navigator(&fetcher, base_url_ + "/feed/recent");

  std::vector<feed::AtomEntry> seen;
  feed::FeedCursor cursor;
  bool at_head = false;
  for (int step = 0; step < 20 && !at_head; ++step) {
    auto next = navigator.Next(cursor);
    ASSERT_TRUE(next.ok()) << next.status();
    for (feed::AtomEntry& entry : next->entries) seen.push_back(std::move(entry));
    EXPECT_NE(next->cursor.page_url, base_url_ + "/feed/recent");
    cursor = next->cursor;
    at_head = next->at_head;
  }
  ASSERT_TRUE(at_head);
  ASSERT_EQ(seen.size(), 9u);  // 7 creates, 1 update, 1 delete, in order
  std::set<std::string> entry_ids;
  for (const feed::AtomEntry& entry : seen) {
    entry_ids.insert(entry.id);
    EXPECT_EQ(entry.resource_type, "Patient");
    EXPECT_EQ(entry.content_kind, feed::AtomContentKind::kClientUrlMap);
    ASSERT_EQ(entry.client_urls.count("fhir"), 1u) << entry.content;
  }
  EXPECT_EQ(entry_ids.size(), 9u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(seen[i].action, feed::AtomAction::kCreated) << i;
  EXPECT_EQ(seen[7].action, feed::AtomAction::kUpdated);
  EXPECT_EQ(seen[8].action, feed::AtomAction::kDeleted);
  EXPECT_THAT(seen[7].client_urls.at("fhir"), HasSubstr("Patient/f0/_history/2"));

  // The URL in the entry leads to that version through the FHIR client.
  FhirResult version = client.VRead("Patient", "f0", "2");
  ASSERT_TRUE(version.ok()) << version.status;
  EXPECT_THAT(version.body, HasSubstr(R"("family":"G")"));

  // New changes: only they come next, from the stored cursor.
  ASSERT_TRUE(client.CreateAt("Patient", "late", PatientBody("late", "L")).ok());
  auto next = navigator.Next(cursor);
  ASSERT_TRUE(next.ok()) << next.status();
  std::vector<std::string> late_ids;
  while (true) {
    for (const feed::AtomEntry& entry : next->entries) late_ids.push_back(entry.id);
    if (next->at_head) break;
    next = navigator.Next(next->cursor);
    ASSERT_TRUE(next.ok()) << next.status();
  }
  ASSERT_EQ(late_ids.size(), 1u);
  EXPECT_EQ(entry_ids.count(late_ids[0]), 0u);
  EXPECT_EQ(fetcher.connections_opened(), 1);
}

}  // namespace
}  // namespace fhirsync::fhir
