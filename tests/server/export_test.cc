// GET /fhir/$export and its status and file URLs (docs/snapshot.md), on a
// NodeServer in this process over a real SQLite store, through real HTTP on
// 127.0.0.1.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "server/export_jobs.h"
#include "support/temp_dir.h"
#include "test_client.h"

namespace fhirsync::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Holds export jobs at their watermark until released (the
// NodeServer::Options::on_export_progress hook).
class Gate {
 public:
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  // Called by a job: records that it reached the watermark, then waits.
  void Pass(const SnapshotProgress& progress) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (progress.written == 0 && progress.type.empty()) ++held_;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(60), [this] { return open_; });
  }
  bool WaitHeld(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return held_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int held_ = 0;
};

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(2); }
  void TearDown() override {
    gate_.Open();
    server_.reset();
  }

  void StartServer(int max_running) {
    server_.reset();
    StoreConfig store_config;
    store_config.backend = "sqlite";
    if (!store_) {
      auto store = OpenLocalStore(store_config, dir_.path(), "parent");
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(store).value();
    }
    NodeConfig config;
    config.node_id = "parent";
    config.server.feed_page_size = 10;
    config.server.export_max_running = max_running;
    for (const char* user : {"alice", "bob"}) {
      auto issued = IssueToken(user, {"read"});
      ASSERT_TRUE(issued.ok());
      config.server.tokens.push_back(issued->config);
      tokens_[user] = issued->token;
    }
    NodeServer::Options options;
    options.node_dir = dir_.path();
    options.on_export_progress = [this](const std::string&, const SnapshotProgress& progress) {
      gate_.Pass(progress);
    };
    server_ = std::make_unique<NodeServer>(config, *store_, options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  TestClient Client(const std::string& user) {
    return TestClient("127.0.0.1", server_->port(), BearerAuth(tokens_[user]));
  }
  // The path of an absolute URL of this server.
  std::string PathOf(const std::string& url) {
    const std::string base = server_->base_url();
    EXPECT_EQ(url.rfind(base, 0), 0u) << url << " is not under " << base;
    return url.substr(base.size());
  }

  void Put(const std::string& type, const std::string& id, const std::string& extra = "") {
    WriteOp op;
    op.type = type;
    op.id = id;
    op.body = "{\"resourceType\":\"" + type + "\",\"id\":\"" + id + "\"" + extra + "}";
    ASSERT_TRUE(store_->Put(op).ok());
  }

  Reply Kickoff(TestClient& client, const std::string& query = "") {
    return client.Call("GET", "/fhir/$export" + query, "",
                       WithHeader("Prefer", "respond-async"));
  }

  // Polls the status URL until it is no longer 202 (a deadline, not a sleep).
  Reply Poll(TestClient& client, const std::string& status_path) {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    Reply reply;
    while (Clock::now() < deadline) {
      reply = client.Get(status_path);
      if (reply.status != 202) return reply;
      EXPECT_FALSE(reply.Header("x-progress").empty());
      EXPECT_EQ(reply.Header("retry-after"), "1");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "the export did not finish within 60 s";
    return reply;
  }

  // Kick-off, poll, manifest: the whole way for `user`.
  BulkManifest ExportAll(const std::string& user, const std::string& query,
                         std::string* status_path) {
    TestClient client = Client(user);
    Reply started = Kickoff(client, query);
    EXPECT_EQ(started.status, 202) << started.body;
    *status_path = PathOf(started.Header("content-location"));
    Reply done = Poll(client, *status_path);
    EXPECT_EQ(done.status, 200) << done.body;
    auto manifest = ParseBulkManifest(done.body);
    EXPECT_TRUE(manifest.ok()) << manifest.status() << ": " << done.body;
    return manifest.ok() ? *manifest : BulkManifest{};
  }

  // (type/id) -> the line, from NDJSON text.
  static std::map<std::string, std::string> Lines(const std::string& ndjson) {
    std::map<std::string, std::string> out;
    std::istringstream in(ndjson);
    std::string line;
    while (std::getline(in, line)) {
      auto info = InspectFhirBody(line);
      EXPECT_TRUE(info.ok()) << line;
      if (info.ok()) out[info->resource_type + "/" + info->id] = line;
    }
    return out;
  }

  TempDir dir_{"fhirsync-export"};
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
  std::map<std::string, std::string> tokens_;
  Gate gate_;
};

TEST_F(ExportTest, KickOffPollManifestAndFilesWithAndWithoutGzip) {
  for (int i = 0; i < 30; ++i) {
    Put("Patient", "p" + std::to_string(i), ",\"name\":[{\"family\":\"Family" +
                                                std::string(40, 'x') + "\"}]");
  }
  Put("Observation", "o1");
  Put("Patient", "p3", ",\"gender\":\"other\"");
  ASSERT_TRUE(store_->Delete("Patient", "p4").ok());
  auto last = store_->LastSeq();
  ASSERT_TRUE(last.ok());

  TestClient alice = Client("alice");
  EXPECT_NE(alice.Get("/fhir/metadata").body.find("bulkdata/OperationDefinition/export"),
            std::string::npos);

  std::string status_path;
  BulkManifest manifest = ExportAll("alice", "?_type=Patient,Observation", &status_path);
  EXPECT_TRUE(manifest.requires_access_token);
  EXPECT_EQ(manifest.request, server_->base_url() + "/fhir/$export?_type=Patient,Observation");
  ASSERT_TRUE(manifest.has_fhirsync);
  EXPECT_EQ(manifest.fhirsync.node_id, "parent");
  EXPECT_EQ(manifest.fhirsync.watermark_seq, *last);
  // The page holding the watermark, as the feed's own `via` link names it.
  EXPECT_EQ(manifest.fhirsync.atom_page_url,
            server_->base_url() + "/feed/4?types=Observation,Patient");
  Reply page = alice.Get(PathOf(manifest.fhirsync.atom_page_url));
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("href=\"" + manifest.fhirsync.atom_page_url + "\""), std::string::npos);
  EXPECT_NE(page.body.find("<id>" + manifest.fhirsync.atom_entry_id + "</id>"), std::string::npos);

  ASSERT_EQ(manifest.output.size(), 2u);
  std::map<std::string, std::string> lines;
  for (std::size_t i = 0; i < manifest.output.size(); ++i) {
    const BulkOutputFile& file = manifest.output[i];
    const std::string path = PathOf(file.url);
    EXPECT_EQ(path, status_path.substr(0, status_path.find("$export-status")) + "$export-file/" +
                        status_path.substr(status_path.rfind('/') + 1) + "/" +
                        std::to_string(i + 1));
    Reply plain = alice.Get(path);
    ASSERT_EQ(plain.status, 200) << plain.body;
    EXPECT_FALSE(plain.was_gzip);
    EXPECT_EQ(plain.Header("content-type"), "application/fhir+ndjson");
    EXPECT_EQ(Sha256Hex(plain.body), file.sha256);
    EXPECT_EQ(static_cast<std::int64_t>(plain.body.size()), file.bytes);
    RequestOptions gzip;
    gzip.accept_gzip = true;
    Reply zipped = alice.Call("GET", path, "", gzip);
    ASSERT_EQ(zipped.status, 200);
    EXPECT_TRUE(zipped.was_gzip);
    EXPECT_EQ(zipped.body, plain.body);
    for (auto& [key, line] : Lines(plain.body)) lines[key] = line;
  }
  // Each line is the resource as the parent serves it (meta.versionId set).
  ASSERT_EQ(lines.size(), 30u);  // 29 live patients and the observation
  EXPECT_EQ(lines.count("Patient/p4"), 0u);
  for (const auto& [key, line] : lines) {
    const std::string type = key.substr(0, key.find('/'));
    auto stored = store_->Get(type, key.substr(key.find('/') + 1));
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(line, stored->body);
    EXPECT_NE(line.find("\"versionId\":\"" + std::to_string(stored->version) + "\""),
              std::string::npos);
  }
}

TEST_F(ExportTest, RangeResumesAndOnlyTheStarterSeesTheJob) {
  for (int i = 0; i < 20; ++i) Put("Patient", "p" + std::to_string(i));
  std::string status_path;
  BulkManifest manifest = ExportAll("alice", "", &status_path);
  ASSERT_EQ(manifest.output.size(), 1u);
  TestClient alice = Client("alice");
  const std::string path = PathOf(manifest.output[0].url);
  const std::string whole = alice.Get(path).body;
  ASSERT_EQ(static_cast<std::int64_t>(whole.size()), manifest.output[0].bytes);

  // A cut download goes on from what it has: the same bytes, identity.
  const std::size_t cut = whole.size() / 3;
  RequestOptions range = WithHeader("Range", "bytes=" + std::to_string(cut) + "-");
  range.accept_gzip = true;
  Reply rest = alice.Call("GET", path, "", range);
  ASSERT_EQ(rest.status, 206) << rest.body;
  EXPECT_FALSE(rest.was_gzip);
  EXPECT_EQ(rest.Header("content-range"), "bytes " + std::to_string(cut) + "-" +
                                              std::to_string(whole.size() - 1) + "/" +
                                              std::to_string(whole.size()));
  EXPECT_EQ(whole.substr(0, cut) + rest.body, whole);
  Reply past = alice.Call("GET", path, "",
                          WithHeader("Range", "bytes=" + std::to_string(whole.size()) + "-"));
  EXPECT_EQ(past.status, 416);
  EXPECT_NE(past.Diagnostics().find("past the end of the file"), std::string::npos);
  Reply closed = alice.Call("GET", path, "", WithHeader("Range", "bytes=0-10"));
  EXPECT_EQ(closed.status, 400);
  EXPECT_NE(closed.Diagnostics().find("only one open range, bytes=N-"), std::string::npos);

  // Bob reads none of Alice's job, and cannot cancel it.
  TestClient bob = Client("bob");
  EXPECT_EQ(bob.Get(status_path).status, 404);
  EXPECT_EQ(bob.Get(path).status, 404);
  EXPECT_EQ(bob.Call("DELETE", status_path).status, 404);
  EXPECT_EQ(alice.Get(status_path).status, 200);

  // Alice removes it: the files go.
  const std::string job = status_path.substr(status_path.rfind('/') + 1);
  ASSERT_TRUE(fs::exists(dir_.Sub("exports/" + job)));
  EXPECT_EQ(alice.Call("DELETE", status_path).status, 202);
  EXPECT_FALSE(fs::exists(dir_.Sub("exports/" + job)));
  EXPECT_EQ(alice.Get(status_path).status, 404);
  EXPECT_EQ(alice.Get(path).status, 404);
}

TEST_F(ExportTest, BadRequestsAreRefusedNamingTheProblem) {
  TestClient alice = Client("alice");
  Reply no_prefer = alice.Get("/fhir/$export");
  EXPECT_EQ(no_prefer.status, 400);
  EXPECT_NE(no_prefer.Diagnostics().find("Prefer: respond-async"), std::string::npos);

  struct Case {
    std::string query;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"?_type=Patient,Nope", "'Nope' is not a FHIR resource type this node serves"},
           {"?_type=visittype", "'visittype' is not a FHIR resource type"},
           {"?_type=", "_type: no type given"},
           {"?_outputFormat=text/csv", "_outputFormat: 'text/csv' is not supported"},
           {"?_since=yesterday", "_since"},
           {"?_typeFilter=Patient%3Factive%3Dtrue", "'_typeFilter' is not supported"}}) {
    Reply r = Kickoff(alice, c.query);
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_NE(r.Diagnostics().find(c.says), std::string::npos) << c.query << ": " << r.body;
  }
  EXPECT_EQ(Kickoff(alice, "?_outputFormat=application%2Ffhir%2Bndjson").status, 202);

  // Hostile job ids never reach the file system.
  for (const std::string& job :
       {std::string("..%2F..%2Fetc"), std::string(5000, 'a'), std::string("%00"),
        std::string("00000000-0000-0000-0000-000000000000")}) {
    for (const std::string& path : {"/fhir/$export-status/" + job,
                                    "/fhir/$export-file/" + job + "/1"}) {
      Reply r = alice.Get(path);
      EXPECT_TRUE(r.status == 404 || r.status == 400) << path.substr(0, 80) << ": " << r.status;
      EXPECT_FALSE(r.Diagnostics().empty()) << path.substr(0, 80);
    }
  }
  EXPECT_NE(alice.Get("/fhir/$export-status/..%2F..%2Fetc").Diagnostics().find(
                "is not an export job id"),
            std::string::npos);
}

TEST_F(ExportTest, TooManyJobsAreRefusedWithRetryAfter) {
  StartServer(1);
  Put("Patient", "p1");
  gate_.Close();
  TestClient alice = Client("alice");
  Reply first = Kickoff(alice);
  ASSERT_EQ(first.status, 202);
  ASSERT_TRUE(gate_.WaitHeld(1));
  Reply second = Kickoff(alice);
  EXPECT_EQ(second.status, 429);
  EXPECT_FALSE(second.Header("retry-after").empty());
  EXPECT_NE(second.Diagnostics().find("server.export_max_running = 1"), std::string::npos)
      << second.body;
  // The running job shows its progress.
  Reply running = alice.Get(PathOf(first.Header("content-location")));
  EXPECT_EQ(running.status, 202);
  EXPECT_EQ(running.Header("x-progress"), "0 of 1 resources");
  gate_.Open();
  EXPECT_EQ(Poll(alice, PathOf(first.Header("content-location"))).status, 200);
  EXPECT_EQ(Kickoff(alice).status, 202);
}

// A change committed while the snapshot is cut is after the watermark: the
// feed after the watermark has it, and the files hold the resource at its
// version at the watermark or the newer one, never an older one.
TEST_F(ExportTest, AChangeWhileTheSnapshotIsCutIsAfterTheWatermark) {
  for (int i = 0; i < 5; ++i) Put("Patient", "p" + std::to_string(i));
  auto before = store_->LastSeq();
  ASSERT_TRUE(before.ok());
  gate_.Close();
  TestClient alice = Client("alice");
  Reply started = Kickoff(alice);
  ASSERT_EQ(started.status, 202);
  ASSERT_TRUE(gate_.WaitHeld(1));
  Put("Patient", "p2", ",\"gender\":\"female\"");
  Put("Patient", "p9");
  gate_.Open();
  Reply done = Poll(alice, PathOf(started.Header("content-location")));
  ASSERT_EQ(done.status, 200);
  auto manifest = ParseBulkManifest(done.body);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->fhirsync.watermark_seq, *before);
  ChangeQuery after;
  after.after_seq = manifest->fhirsync.watermark_seq;
  auto changes = store_->Changes(after);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  auto lines = Lines(alice.Get(PathOf(manifest->output[0].url)).body);
  EXPECT_EQ(lines.count("Patient/p0"), 1u);
  EXPECT_EQ(lines.count("Patient/p2"), 1u);
}

TEST_F(ExportTest, AFailedOrCancelledJobLeavesNoFilesAndARestartClearsTheFolder) {
  Put("Patient", "p1");
  gate_.Close();
  TestClient alice = Client("alice");
  Reply started = Kickoff(alice);
  ASSERT_EQ(started.status, 202);
  ASSERT_TRUE(gate_.WaitHeld(1));
  const std::string status_path = PathOf(started.Header("content-location"));
  const std::string job = status_path.substr(status_path.rfind('/') + 1);
  EXPECT_TRUE(fs::exists(dir_.Sub("exports/" + job)));
  std::thread release([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate_.Open();
  });
  EXPECT_EQ(alice.Call("DELETE", status_path).status, 202);  // waits for the job to stop
  release.join();
  EXPECT_FALSE(fs::exists(dir_.Sub("exports/" + job)));

  // A folder an earlier server left is removed when the server starts.
  fs::create_directories(dir_.Sub("exports/leftover"));
  StartServer(2);
  EXPECT_FALSE(fs::exists(dir_.Sub("exports/leftover")));
  EXPECT_TRUE(fs::is_directory(dir_.Sub("exports")));
  EXPECT_EQ(fs::status(dir_.Sub("exports")).permissions() & fs::perms::all, fs::perms::owner_all);
}

// White-box: a finished job goes once its retention has passed (the server
// keeps it server.export_retain_seconds, at least 60 s; here 0).
TEST_F(ExportTest, AFinishedJobIsRemovedOnceItsRetentionHasPassed) {
  Put("Patient", "p1");
  TempDir folder("fhirsync-export-retain");
  server::ExportJobs::Options options;
  options.dir = folder.Sub("exports");
  options.retain_seconds = 0;
  auto jobs = server::ExportJobs::Open(*store_, options);
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  SnapshotOptions snapshot;
  snapshot.node_id = "parent";
  auto job = (*jobs)->Start("alice", snapshot, "http://parent/fhir/$export-file/");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_TRUE(server::ExportJobs::IsJobId(*job)) << *job;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && (*jobs)->Get("alice", *job).has_value()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE((*jobs)->Get("alice", *job).has_value()) << "not removed within 30 s";
  EXPECT_FALSE(fs::exists(options.dir + "/" + *job));
  for (const char* bad : {"../../etc", "", "0B1E2F3A-4C5D-4E6F-8A9B-0C1D2E3F4A5B",
                          "0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b0"}) {
    EXPECT_FALSE(server::ExportJobs::IsJobId(bad)) << bad;
  }
}

}  // namespace
}  // namespace fhirsync::testing
