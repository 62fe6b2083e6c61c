// End-to-end tests against a real `fhirsync serve` process over a real
// SQLite store, on 127.0.0.1 with a port the OS picks (read from the line
// the server prints). The interaction tests of interaction_tests.h run here
// as well as in-process.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "interaction_tests.h"
#include "refusal_tests.h"
#include "support/sanitizers.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kTestData = FHIRSYNC_TEST_DATA;
constexpr auto kStartDeadline = std::chrono::seconds(30);

const std::vector<UserConfig>& TestUsers() {
  static const std::vector<UserConfig> users = {
      *MakeUser(kReader, PasswordOf(kReader), {"read"}),
      *MakeUser(kWriter, PasswordOf(kWriter), {"read", "write"}),
      *MakeUser(kAdmin, PasswordOf(kAdmin), {"admin"})};
  return users;
}

ProcessResult Fhirsync(const std::vector<std::string>& args, const ProcessOptions& options = {}) {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

// Starts `fhirsync serve` on `dir` and reads the port it prints.
bool StartServe(ChildProcess* child, const std::string& dir, int* port, std::string* error) {
  if (!child->Start({kBinary, "serve", "--dir", dir, "--bind", "127.0.0.1", "--port", "0"}, {},
                    error)) {
    return false;
  }
  const std::string prefix = "listening on http://127.0.0.1:";
  if (!child->WaitForStdout(prefix, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        kStartDeadline))) {
    *error = "no listening line; stderr: " + child->Stderr();
    return false;
  }
  std::string out = child->Stdout();
  *port = std::stoi(out.substr(out.find(prefix) + prefix.size()));
  return *port > 0;
}

// A fresh node folder with the test users and a token, served by a real
// `fhirsync serve` process.
class ProcessEnv {
 public:
  ProcessEnv() : tmp_("fhirsync-serve"), dir_(tmp_.path() + "/node") {}
  ~ProcessEnv() {
    if (child_.Running()) {
      child_.Signal(SIGTERM);
      child_.Wait(std::chrono::seconds(20));
    }
  }

  void Start() {
    ProcessResult init = Fhirsync({"init", "--dir", dir_, "--node-id", "parent-e2e"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(dir_);
    ASSERT_TRUE(config.ok()) << config.status();
    config->server.feed_page_size = kFeedPageSize;
    config->server.max_request_bytes = 2 * 1024 * 1024;
    config->server.max_response_bytes = kMaxResponseBytes;
    config->server.threads = 8;
    config->server.users = TestUsers();
    auto issued = IssueToken("robot", {"read", "write"});
    ASSERT_TRUE(issued.ok());
    token_ = issued->token;
    config->server.tokens.push_back(issued->config);
    ASSERT_TRUE(SaveNodeConfig(dir_, *config).ok());
    std::string error;
    ASSERT_TRUE(StartServe(&child_, dir_, &port_, &error)) << error;
  }

  int port() const { return port_; }
  const std::string& token() const { return token_; }
  const std::string& dir() const { return dir_; }
  ChildProcess& child() { return child_; }

 private:
  TempDir tmp_;
  std::string dir_;
  ChildProcess child_;
  int port_ = 0;
  std::string token_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(ServeProcess, InteractionTest, ProcessEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(ServeProcess, RefusalTest, ProcessEnv);

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.Start(); }
  TestClient Writer() {
    return TestClient("127.0.0.1", env_.port(), BasicAuth(kWriter, PasswordOf(kWriter)));
  }
  ProcessEnv env_;
};

// Removes what a server adds (meta.versionId, meta.lastUpdated, and meta if
// that leaves it empty), so a body read back compares with what was sent.
void StripServerMeta(rapidjson::Document* doc) {
  auto meta = doc->FindMember("meta");
  if (meta == doc->MemberEnd()) return;
  meta->value.RemoveMember("versionId");
  meta->value.RemoveMember("lastUpdated");
  if (meta->value.ObjectEmpty()) doc->RemoveMember("meta");
}

TEST_F(ServeTest, SyntheaResourcesLoadThroughTheApiAndReadBackIdentical) {
  std::vector<std::string> lines;
  for (const auto& file : std::filesystem::directory_iterator(kTestData + "/fhir-r4-bulk")) {
    if (file.path().extension() != ".ndjson") continue;
    std::ifstream in(file.path());
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
  }
  ASSERT_EQ(lines.size(), 5945u);
  TestClient client = Writer();
  std::vector<std::pair<std::string, std::string>> keys;  // type, id
  // Patients one by one with PUT; everything else in transactions of 250.
  std::string bundle;
  std::size_t in_bundle = 0;
  auto flush = [&] {
    if (in_bundle == 0) return;
    Reply reply = client.Post("/fhir", R"({"resourceType":"Bundle","type":"transaction","entry":[)" +
                                           bundle + "]}");
    ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 500);
    ASSERT_EQ(reply.Json()["entry"].Size(), in_bundle);
    bundle.clear();
    in_bundle = 0;
  };
  for (const std::string& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    ASSERT_FALSE(doc.HasParseError());
    std::string type = doc["resourceType"].GetString();
    std::string id = doc["id"].GetString();
    keys.emplace_back(type, id);
    if (type == "Patient") {
      Reply reply = client.Put("/fhir/Patient/" + id, line);
      ASSERT_EQ(reply.status, 201) << reply.body;
      continue;
    }
    if (in_bundle > 0) bundle += ",";
    bundle += R"({"resource":)" + line + R"(,"request":{"method":"PUT","url":")" + type + "/" +
              id + R"("}})";
    if (++in_bundle == 250) {
      flush();
      if (HasFatalFailure()) return;
    }
  }
  flush();
  if (HasFatalFailure()) return;

  RequestOptions gzip;
  gzip.accept_gzip = true;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& [type, id] = keys[i];
    Reply reply = client.Call("GET", "/fhir/" + type + "/" + id, "", gzip);
    ASSERT_EQ(reply.status, 200) << type << "/" << id;
    rapidjson::Document got = reply.Json();
    EXPECT_STREQ(got["meta"]["versionId"].GetString(), "1");
    StripServerMeta(&got);
    rapidjson::Document sent;
    sent.Parse<rapidjson::kParseFullPrecisionFlag>(lines[i].c_str());
    ASSERT_TRUE(got == sent) << type << "/" << id << " differs: " << reply.body.substr(0, 300);
  }
  // The CapabilityStatement lists every type loaded (among all it accepts).
  Reply meta = client.Get("/fhir/metadata");
  rapidjson::Document statement = meta.Json();
  std::set<std::string> listed;
  for (auto& r : statement["rest"][0]["resource"].GetArray()) listed.insert(r["type"].GetString());
  std::set<std::string> loaded;
  for (const auto& key : keys) loaded.insert(key.first);
  EXPECT_EQ(loaded.size(), 12u);
  for (const std::string& type : loaded) EXPECT_EQ(listed.count(type), 1u) << type;
}

TEST_F(ServeTest, FeedWalkSeesEveryChangeOnceInOrderWhileFourWritersWrite) {
  constexpr int kWriters = 4;
  constexpr int kWritesEach = 30;
  std::atomic<int> writers_done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      TestClient client = Writer();
      for (int i = 0; i < kWritesEach; ++i) {
        // Some creates, some updates of the writer's own resources.
        std::string id = "w" + std::to_string(w) + "-" + std::to_string(i % 20);
        Reply reply = client.Put("/fhir/Patient/" + id, PatientJson(id, "F" + std::to_string(i)));
        if (reply.status != 200 && reply.status != 201) ++failures;
      }
      ++writers_done;
    });
  }
  // The walker: from page 1 along next-archive; on the page without one it
  // re-reads that page until the writers are done and nothing new appears.
  TestClient reader("127.0.0.1", env_.port(), BasicAuth(kReader, PasswordOf(kReader)));
  std::vector<std::string> walked;  // content URLs
  std::set<std::string> entry_ids;
  std::string page_url = "/feed/1";
  std::size_t consumed_on_page = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const bool finished = writers_done.load() == kWriters;
    Reply reply = reader.Get(page_url);
    if (reply.status == 404 && page_url == "/feed/1") continue;  // nothing written yet
    ASSERT_EQ(reply.status, 200) << page_url << ": " << reply.body;
    auto page = feed::ReadAtomPage("http://127.0.0.1" + page_url, reply.body);
    ASSERT_TRUE(page.ok()) << page.status();
    for (std::size_t i = consumed_on_page; i < page->entries.size(); ++i) {
      const feed::AtomEntry& entry = page->entries[i];
      EXPECT_TRUE(entry_ids.insert(entry.id).second) << "entry " << entry.id << " seen twice";
      walked.push_back(entry.client_urls.at("fhir"));
    }
    consumed_on_page = page->entries.size();
    if (!page->info.next_archive.empty()) {
      EXPECT_EQ(page->entries.size(), static_cast<std::size_t>(kFeedPageSize));
      EXPECT_EQ(reply.Header("cache-control"), "public, max-age=31536000, immutable");
      std::string next = page->info.next_archive;
      page_url = next.substr(next.find("/feed/"));
      consumed_on_page = 0;
      continue;
    }
    if (finished) break;
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);

  // What the node says it did, oldest first.
  std::vector<std::string> expected;
  TestClient client = Writer();
  Reply history = client.Get("/fhir/_history?_count=1000");
  ASSERT_EQ(history.status, 200);
  // Named: a range-for over a member of the temporary would walk freed memory.
  rapidjson::Document history_json = history.Json();
  for (auto& e : history_json["entry"].GetArray()) {
    std::string url = e["request"]["url"].GetString();
    std::string etag = e["response"]["etag"].GetString();  // W/"n"
    expected.push_back("/fhir/" + url + "/_history/" + etag.substr(3, etag.size() - 4));
  }
  EXPECT_EQ(expected.size(), static_cast<std::size_t>(kWriters * kWritesEach));
  EXPECT_EQ(walked, expected);
  // `recent` is the page the walk ended on.
  Reply recent = reader.Get("/feed/recent");
  auto recent_page = feed::ReadAtomPage("http://127.0.0.1/feed/recent", recent.body);
  ASSERT_TRUE(recent_page.ok());
  EXPECT_NE(recent_page->info.via.find(page_url), std::string::npos) << page_url;
}

// The amplification a reader could cause: 800 reads of one 1 MB Patient in
// a 45 KB Bundle. The server's peak memory grows by about the cap, not by
// the 800 MB the answer would be.
TEST_F(ServeTest, BatchPastTheAnswerCapKeepsMemoryBounded) {
  ASSERT_EQ(Writer().Put("/fhir/Patient/big", BigPatientJson("big", 1000000)).status, 201);
  const long before_kb = env_.child().PeakResidentKb();
  ASSERT_GT(before_kb, 0);
  TestClient reader("127.0.0.1", env_.port(), BasicAuth(kReader, PasswordOf(kReader)));
  const std::string bundle =
      BundleOf("batch", std::vector<std::string>(800, GetEntry("Patient/big")));
  ASSERT_LT(bundle.size(), 48u * 1024u);
  for (int i = 0; i < 3; ++i) {
    Reply refused = reader.Post("/fhir", bundle);
    EXPECT_EQ(refused.status, 413);
    EXPECT_NE(refused.Diagnostics().find("server.max_response_bytes"), std::string::npos);
  }
  const long after_kb = env_.child().PeakResidentKb();
  if (testing::kUnderAddressSanitizer) {
    GTEST_SKIP() << "peak memory is not bounded under AddressSanitizer (support/sanitizers.h)";
  }
  EXPECT_LT(after_kb - before_kb, 64L * 1024L)
      << "peak resident memory went from " << before_kb << " KiB to " << after_kb << " KiB";
}

TEST_F(ServeTest, StopsGracefullyOnSigterm) {
  TestClient client = Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/s1", PatientJson("s1", "S")).status, 201);
  ASSERT_TRUE(env_.child().Signal(SIGTERM));
  ProcessResult result = env_.child().Wait(std::chrono::seconds(20));
  EXPECT_EQ(result.exit_code, 0) << result.Describe() << " " << result.err;
  EXPECT_NE(result.err.find("SIGTERM received, stopping"), std::string::npos) << result.err;
  // The write survived: a new server over the same folder serves it.
  ChildProcess again;
  int port = 0;
  std::string error;
  ASSERT_TRUE(StartServe(&again, env_.dir(), &port, &error)) << error;
  TestClient next("127.0.0.1", port, BasicAuth(kReader, PasswordOf(kReader)));
  EXPECT_EQ(next.Get("/fhir/Patient/s1").status, 200);
  ASSERT_TRUE(again.Signal(SIGINT));
  ProcessResult second = again.Wait(std::chrono::seconds(20));
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("SIGINT received"), std::string::npos);
}

TEST(ServeCommandTest, UserVerbsManageWhoMayConnect) {
  TempDir tmp("fhirsync-user");
  const std::string dir = tmp.path() + "/node";
  ASSERT_EQ(Fhirsync({"init", "--dir", dir, "--node-id", "p"}).exit_code, 0);

  ProcessOptions password;
  password.stdin_data = "s3cret pass\n";
  ProcessResult added = Fhirsync({"user", "add", "--dir", dir, "nurse", "--role", "read"}, password);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ProcessResult token = Fhirsync({"user", "add", "--dir", dir, "sync-bot", "--role", "read,write", "--token"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string bearer = token.out.substr(0, token.out.find('\n'));
  EXPECT_EQ(bearer.rfind("fst_", 0), 0u);
  // Only hashes are stored.
  std::ifstream config_file(dir + "/fhirsync.json");
  std::string config_text((std::istreambuf_iterator<char>(config_file)), {});
  EXPECT_EQ(config_text.find("s3cret"), std::string::npos);
  EXPECT_EQ(config_text.find(bearer), std::string::npos);

  ProcessResult duplicate = Fhirsync({"user", "add", "--dir", dir, "nurse", "--role", "read"}, password);
  EXPECT_EQ(duplicate.exit_code, 1);
  EXPECT_NE(duplicate.err.find("user 'nurse' exists"), std::string::npos);
  ProcessResult bad_role = Fhirsync({"user", "add", "--dir", dir, "x", "--role", "superuser"}, password);
  EXPECT_EQ(bad_role.exit_code, 1);
  EXPECT_NE(bad_role.err.find("unknown role 'superuser'"), std::string::npos);
  ProcessResult no_role = Fhirsync({"user", "add", "--dir", dir, "x"}, password);
  EXPECT_EQ(no_role.exit_code, 2);
  EXPECT_NE(no_role.err.find("--role"), std::string::npos);
  ProcessOptions empty;
  empty.stdin_data = "\n";
  ProcessResult no_password = Fhirsync({"user", "add", "--dir", dir, "y", "--role", "read"}, empty);
  EXPECT_EQ(no_password.exit_code, 1);
  EXPECT_NE(no_password.err.find("password read from stdin is empty"), std::string::npos);

  ProcessResult listed = Fhirsync({"user", "list", "--dir", dir, "--json"});
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.out,
            R"([{"name":"nurse","kind":"password","roles":["read"]},{"name":"sync-bot","kind":"token","roles":["read","write"]}])"
            "\n");

  ChildProcess server;
  int port = 0;
  std::string error;
  ASSERT_TRUE(StartServe(&server, dir, &port, &error)) << error;
  TestClient nurse("127.0.0.1", port, BasicAuth("nurse", "s3cret pass"));
  EXPECT_EQ(nurse.Get("/fhir/metadata").status, 200);
  EXPECT_EQ(nurse.Put("/fhir/Patient/n", PatientJson("n", "N")).status, 403);
  TestClient bot("127.0.0.1", port, BearerAuth(bearer));
  EXPECT_EQ(bot.Put("/fhir/Patient/n", PatientJson("n", "N")).status, 201);
  // The access log names every request, with who made it.
  auto logged = [&server](const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (server.Stderr().find(text) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return server.Stderr().find(text) != std::string::npos;
  };
  EXPECT_TRUE(logged(" 127.0.0.1 nurse GET /fhir/metadata 200 ")) << server.Stderr();
  EXPECT_TRUE(logged(" 127.0.0.1 nurse PUT /fhir/Patient/n 403 ")) << server.Stderr();
  EXPECT_TRUE(logged(" 127.0.0.1 sync-bot PUT /fhir/Patient/n 201 ")) << server.Stderr();

  // Removed while the server runs: refused from then on, within a second.
  ProcessResult removed = Fhirsync({"user", "remove", "--dir", dir, "nurse"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 200;
  while ((status = nurse.Get("/fhir/metadata").status) == 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 401);
  EXPECT_EQ(bot.Get("/fhir/Patient/n").status, 200);

  // Guessing: after 5 failures of one user from one address, 429 with
  // Retry-After, before any password is checked; logged.
  TestClient guesser("127.0.0.1", port, BasicAuth("sync-bot", "guess"));
  Reply reply;
  for (int i = 0; i < 5; ++i) {
    reply = guesser.Get("/fhir/metadata");
    EXPECT_EQ(reply.status, i < 4 ? 401 : 429) << i;
  }
  EXPECT_EQ(reply.Header("retry-after"), "1");
  EXPECT_NE(reply.Diagnostics().find("5 failures in a row"), std::string::npos) << reply.body;
  Reply throttled = guesser.Get("/fhir/metadata");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_NE(throttled.Diagnostics().find("too many failed logins for 'sync-bot' from 127.0.0.1"),
            std::string::npos)
      << throttled.body;
  EXPECT_TRUE(logged(" 127.0.0.1 sync-bot GET /fhir/metadata 429 ")) << server.Stderr();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(20)).exit_code, 0);

  ProcessResult missing = Fhirsync({"user", "remove", "--dir", dir, "nurse"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no user or token named 'nurse'"), std::string::npos);
  ProcessResult relisted = Fhirsync({"user", "list", "--dir", dir});
  EXPECT_EQ(relisted.out.find("nurse"), std::string::npos);
  EXPECT_NE(relisted.out.find("sync-bot"), std::string::npos);
}

TEST(ServeCommandTest, RefusesABusyPortAndWarnsWithoutUsersAndOfPlainHttp) {
  TempDir tmp("fhirsync-busy");
  const std::string dir = tmp.path() + "/node";
  ASSERT_EQ(Fhirsync({"init", "--dir", dir, "--node-id", "p"}).exit_code, 0);
  ChildProcess first;
  int port = 0;
  std::string error;
  ASSERT_TRUE(StartServe(&first, dir, &port, &error)) << error;
  EXPECT_NE(first.Stderr().find("no users or tokens are configured"), std::string::npos);
  EXPECT_NE(first.Stderr().find("warning: serving plain HTTP on http://127.0.0.1:" +
                                std::to_string(port) + ": passwords, tokens and patient data "
                                "cross the network unencrypted"),
            std::string::npos)
      << first.Stderr();
  ProcessOptions quick;
  quick.timeout = std::chrono::seconds(30);
  ProcessResult second = Fhirsync({"serve", "--dir", dir, "--port", std::to_string(port)}, quick);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << second.err;
  first.Signal(SIGTERM);
  EXPECT_EQ(first.Wait(std::chrono::seconds(20)).exit_code, 0);
  ProcessResult bad_format = Fhirsync({"serve", "--dir", dir, "--log-format", "xml"}, quick);
  EXPECT_EQ(bad_format.exit_code, 2);
  EXPECT_NE(bad_format.err.find("--log-format: expected text or json, got 'xml'"),
            std::string::npos)
      << bad_format.err;
}

TEST(ServeCommandTest, AccessLogAsJson) {
  TempDir tmp("fhirsync-json-log");
  const std::string dir = tmp.path() + "/node";
  ASSERT_EQ(Fhirsync({"init", "--dir", dir, "--node-id", "p"}).exit_code, 0);
  ChildProcess server;
  std::string error;
  ASSERT_TRUE(server.Start({kBinary, "serve", "--dir", dir, "--port", "0", "--log-format", "json"},
                           {}, &error))
      << error;
  const std::string prefix = "listening on http://127.0.0.1:";
  ASSERT_TRUE(server.WaitForStdout(prefix, std::chrono::milliseconds(20000))) << server.Stderr();
  const std::string out = server.Stdout();
  const int port = std::stoi(out.substr(out.find(prefix) + prefix.size()));
  TestClient anonymous("127.0.0.1", port, "");
  EXPECT_EQ(anonymous.Get("/fhir/Patient?name=Okafor").status, 401);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string line;
  while (line.empty() && std::chrono::steady_clock::now() < deadline) {
    std::istringstream lines(server.Stderr());
    for (std::string l; std::getline(lines, l);) {
      if (l.rfind("{", 0) == 0) line = l;
    }
    if (line.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  ASSERT_TRUE(doc.IsObject()) << server.Stderr();
  EXPECT_STREQ(doc["method"].GetString(), "GET");
  EXPECT_STREQ(doc["path"].GetString(), "/fhir/Patient");  // no query: names stay out
  EXPECT_STREQ(doc["user"].GetString(), "-");
  EXPECT_STREQ(doc["client"].GetString(), "127.0.0.1");
  EXPECT_EQ(doc["status"].GetInt(), 401);
  EXPECT_TRUE(doc["bytes"].IsUint64());
  EXPECT_TRUE(doc["duration_ms"].IsNumber());
  EXPECT_EQ(server.Stderr().find("Okafor"), std::string::npos);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(20)).exit_code, 0);
}

}  // namespace
}  // namespace fhirsync::testing
