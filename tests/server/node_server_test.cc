// The interaction tests (interaction_tests.h) against a NodeServer running
// in this process over the fake store, plus tests of the server's parts.

#include "fhirsync/node_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_store.h"
#include "fhirsync/credentials.h"
#include "fhirsync/feed/atom_page_writer.h"
#include "interaction_tests.h"
#include "refusal_tests.h"

namespace fhirsync::testing {
namespace {

// Users are hashed once per test program: PBKDF2 is slow on purpose.
const NodeConfig& BaseConfig() {
  static const NodeConfig config = [] {
    NodeConfig c;
    c.node_id = "test-parent";
    c.server.bind = "127.0.0.1";
    c.server.port = 0;
    c.server.feed_page_size = kFeedPageSize;
    c.server.max_request_bytes = 2 * 1024 * 1024;
    c.server.max_response_bytes = kMaxResponseBytes;
    c.server.threads = 4;
    c.server.users.push_back(*MakeUser(kReader, PasswordOf(kReader), {"read"}));
    c.server.users.push_back(*MakeUser(kWriter, PasswordOf(kWriter), {"read", "write"}));
    c.server.users.push_back(*MakeUser(kAdmin, PasswordOf(kAdmin), {"admin"}));
    return c;
  }();
  return config;
}

class InProcessEnv {
 public:
  void Start() {
    auto issued = IssueToken("robot", {"read", "write"});
    ASSERT_TRUE(issued.ok());
    token_ = issued->token;
    NodeConfig config = BaseConfig();
    config.server.tokens.push_back(issued->config);
    NodeServer::Options options;
    server_ = std::make_unique<NodeServer>(config, store_, options);
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started;
    ASSERT_GT(server_->port(), 0);
  }
  int port() const { return server_->port(); }
  const std::string& token() const { return token_; }
  FakeStore& store() { return store_; }

 private:
  FakeStore store_;
  std::unique_ptr<NodeServer> server_;
  std::string token_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(InProcess, InteractionTest, InProcessEnv);
INSTANTIATE_TYPED_TEST_SUITE_P(InProcess, RefusalTest, InProcessEnv);

// The refusal comes before the answer is built: of 800 reads of a 1 MB
// resource under a 4 MiB cap, only those that fit are read from the store.
TEST(NodeServerTest, BatchPastTheCapStopsReadingAtTheCap) {
  InProcessEnv env;
  env.Start();
  TestClient writer("127.0.0.1", env.port(), BasicAuth(kWriter, PasswordOf(kWriter)));
  ASSERT_EQ(writer.Put("/fhir/Patient/big", BigPatientJson("big", 1000000)).status, 201);
  const int before = env.store().get_calls();
  TestClient reader("127.0.0.1", env.port(), BasicAuth(kReader, PasswordOf(kReader)));
  Reply refused =
      reader.Post("/fhir", BundleOf("batch", std::vector<std::string>(800, GetEntry("Patient/big"))));
  EXPECT_EQ(refused.status, 413);
  EXPECT_EQ(env.store().get_calls() - before, 5);  // entries 0 to 4: the fifth passes the cap
}

// Types the node's config declares (pull.types, plugins.routes) may be
// written beside FHIR R4's, and the CapabilityStatement lists them.
TEST(NodeServerTest, DeclaredTypesMayBeWritten) {
  FakeStore store;
  NodeConfig config = BaseConfig();
  config.pull.types = {"Patient", "LocalThing"};
  config.plugins.routes["RoutedThing"] = "example";
  NodeServer server(config, store);
  ASSERT_TRUE(server.Start().ok());
  TestClient client("127.0.0.1", server.port(), BasicAuth(kWriter, PasswordOf(kWriter)));
  for (const std::string type : {"LocalThing", "RoutedThing"}) {
    Reply put = client.Put("/fhir/" + type + "/t1",
                           R"({"resourceType":")" + type + R"(","id":"t1"})");
    EXPECT_EQ(put.status, 201) << put.body;
    EXPECT_NE(client.Get("/fhir/metadata").body.find("\"" + type + "\""), std::string::npos);
  }
  Reply other = client.Put("/fhir/OtherThing/t1", R"({"resourceType":"OtherThing","id":"t1"})");
  EXPECT_EQ(other.status, 400);
  EXPECT_NE(other.Diagnostics().find("is not a FHIR R4 resource type"), std::string::npos);
}

TEST(NodeServerTest, TransactionIsOneStoreWrite) {
  InProcessEnv env;
  env.Start();
  TestClient client("127.0.0.1", env.port(), BasicAuth(kWriter, PasswordOf(kWriter)));
  const int before = env.store().write_calls();
  Reply reply = client.Post("/fhir", R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + PatientJson("a", "A") + R"(,"request":{"method":"PUT","url":"Patient/a"}},
    {"resource":)" + PatientJson("b", "B") + R"(,"request":{"method":"PUT","url":"Patient/b"}},
    {"resource":)" + PatientJson("c", "C") + R"(,"request":{"method":"PUT","url":"Patient/c"}}]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(env.store().write_calls(), before + 1);
}

TEST(NodeServerTest, StartRefusesBadLimitsAndBusyPorts) {
  FakeStore store;
  NodeConfig config = BaseConfig();
  config.server.feed_page_size = 0;
  NodeServer zero(config, store);
  Status status = zero.Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("server.feed_page_size must be positive"), std::string::npos);

  config = BaseConfig();
  config.server.bind = "not an address!";
  NodeServer bad_bind(config, store);
  status = bad_bind.Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("server.bind"), std::string::npos);

  NodeServer first(BaseConfig(), store);
  ASSERT_TRUE(first.Start().ok());
  EXPECT_EQ(first.Start().code(), StatusCode::kFailedPrecondition);
  config = BaseConfig();
  config.server.port = first.port();
  NodeServer second(config, store);
  status = second.Start();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("cannot listen"), std::string::npos);
  first.Stop();
  first.Stop();  // twice is harmless
  EXPECT_EQ(first.port(), 0);
}

// The server writes its Atom pages itself (fhirsync::feed): no option to
// set, no server without a feed.
TEST(NodeServerTest, FeedNeedsNoOption) {
  FakeStore store;
  NodeServer server(BaseConfig(), store);
  ASSERT_TRUE(server.Start().ok());
  TestClient client("127.0.0.1", server.port(), BasicAuth(kReader, PasswordOf(kReader)));
  Reply reply = client.Get("/feed/recent");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("<feed xmlns=\"http://www.w3.org/2005/Atom\""), std::string::npos)
      << reply.body;
}

TEST(NodeServerTest, StopWaitsForKeepAliveClients) {
  FakeStore store;
  NodeServer server(BaseConfig(), store);
  ASSERT_TRUE(server.Start().ok());
  TestClient client("127.0.0.1", server.port(), BasicAuth(kReader, PasswordOf(kReader)));
  EXPECT_EQ(client.Get("/fhir/metadata").status, 200);
  // The client keeps its connection open; Stop must not hang on it.
  auto started = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

// A client that sends a request and then stops reading its answer must not
// hold the only worker: the answer is written by the I/O threads, and the
// connection is cut after server.write_timeout_seconds without progress.
// With a single worker, a second client is answered only if that holds.
TEST(NodeServerTest, AClientThatStopsReadingLosesItsWorkerAfterTheWriteTimeout) {
  FakeStore store;
  // A search answer of 12 MiB: far more than the socket buffers of both
  // ends hold (the client's is fixed at 4 KiB below, the server's grows to
  // at most a few MiB).
  std::vector<WriteOp> ops;
  for (int i = 0; i < 4; ++i) {
    WriteOp op;
    op.type = "Patient";
    op.id = "big" + std::to_string(i);
    op.body = R"({"resourceType":"Patient","id":")" + op.id +
              R"(","text":{"status":"generated","div":")" + std::string(3u << 20, 'x') +
              R"("}})";
    ops.push_back(std::move(op));
  }
  auto written = store.Write(ops, WriteOptions{});
  ASSERT_TRUE(written.ok()) << written.status();
  NodeConfig config = BaseConfig();
  config.server.threads = 1;
  config.server.write_timeout_seconds = 1;
  config.server.header_timeout_seconds = 1;
  NodeServer server(config, store);
  ASSERT_TRUE(server.Start().ok());

  Poco::Net::StreamSocket stalled(Poco::Net::SocketAddress::IPv4);
  stalled.setReceiveBufferSize(4096);
  stalled.connect(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server.port())));
  const std::string request =
      "GET /fhir/Patient?_count=10 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
      BasicAuth(kReader, PasswordOf(kReader)) + "\r\n\r\n";
  ASSERT_EQ(stalled.sendBytes(request.data(), static_cast<int>(request.size())),
            static_cast<int>(request.size()));
  // `stalled` never reads its answer. Without the write timeout the only
  // worker would wait on it for ever and this request would time out (the
  // test client gives up after 30 s).
  TestClient client("127.0.0.1", server.port(), BasicAuth(kReader, PasswordOf(kReader)));
  const auto started = std::chrono::steady_clock::now();
  Reply reply = client.Get("/fhir/metadata");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  stalled.close();
}

// Requests past the busy workers and the full queue are answered 503 with
// Retry-After naming the limit, not reset; the queued one is answered once a
// worker is free. The one worker is held by a write whose business-rule hook
// waits for the test.
TEST(NodeServerTest, RequestsPastTheQueueGet503AndTheQueuedOneIsServed) {
  FakeStore store;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  NodeConfig config = BaseConfig();
  config.server.threads = 1;
  config.server.queue_size = 1;
  NodeServer::Options options;
  options.check_write = [&](const Resource&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return Status::Ok();
  };
  NodeServer server(config, store, options);
  ASSERT_TRUE(server.Start().ok());
  std::thread writer([&] {
    TestClient client("127.0.0.1", server.port(), BasicAuth(kWriter, PasswordOf(kWriter)));
    EXPECT_EQ(client.Put("/fhir/Patient/held", PatientJson("held", "Held")).status, 201);
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return entered; }));
  }
  const std::string get = "GET /fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                          BasicAuth(kReader, PasswordOf(kReader)) + "\r\nConnection: close\r\n\r\n";
  auto open_and_send = [&] {
    Poco::Net::StreamSocket socket(
        Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server.port())));
    socket.sendBytes(get.data(), static_cast<int>(get.size()));
    socket.setReceiveTimeout(Poco::Timespan(30, 0));
    return socket;
  };
  // The first waits in the queue; the next finds it full. A request whose
  // head the server has not read yet when the next one comes may take the
  // queue's place instead: a probe that gets no answer soon is kept waiting.
  std::vector<Poco::Net::StreamSocket> waiting;
  std::string refused;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (refused.rfind("HTTP/1.1 503", 0) != 0 && std::chrono::steady_clock::now() < deadline) {
    Poco::Net::StreamSocket next = open_and_send();
    next.setReceiveTimeout(Poco::Timespan(0, 500000));
    refused.clear();
    char buffer[4096];
    try {
      for (int n; (n = next.receiveBytes(buffer, sizeof buffer)) > 0;) {
        refused.append(buffer, static_cast<std::size_t>(n));
      }
    } catch (const Poco::TimeoutException&) {
      if (refused.empty()) waiting.push_back(next);
    }
  }
  ASSERT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  EXPECT_NE(refused.find("server.queue_size"), std::string::npos) << refused;
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  }
  writer.join();
  // The queued request is answered (a probe that was merely slow to be
  // read may have been refused like the others).
  int served = 0;
  for (Poco::Net::StreamSocket& queued : waiting) {
    queued.setReceiveTimeout(Poco::Timespan(30, 0));
    char buffer[4096];
    const int n = queued.receiveBytes(buffer, sizeof buffer);
    ASSERT_GT(n, 0);
    const std::string head(buffer, static_cast<std::size_t>(n));
    if (head.rfind("HTTP/1.1 200", 0) == 0) ++served;
    else EXPECT_EQ(head.rfind("HTTP/1.1 503", 0), 0u) << head;
  }
  EXPECT_EQ(served, 1);
}

// A body that does not arrive within server.body_timeout_seconds of its
// head is answered 408 naming the key, and the connection closed.
TEST(NodeServerTest, ABodyPastItsDeadlineIsAnswered408) {
  FakeStore store;
  NodeConfig config = BaseConfig();
  config.server.body_timeout_seconds = 1;
  NodeServer server(config, store);
  ASSERT_TRUE(server.Start().ok());
  Poco::Net::StreamSocket socket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(server.port())));
  const std::string request =
      "PUT /fhir/Patient/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
      BasicAuth(kWriter, PasswordOf(kWriter)) +
      "\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{\"resourceType\"";
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  socket.setReceiveTimeout(Poco::Timespan(60, 0));
  std::string answer;
  char buffer[4096];
  for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) {
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_NE(answer.find("server.body_timeout_seconds"), std::string::npos) << answer;
  EXPECT_FALSE(store.Get("Patient", "slow").ok());
}

TEST(NodeServerTest, StartRefusesHalfATlsSetup) {
  FakeStore store;
  NodeConfig config = BaseConfig();
  config.server.tls.cert_file = "server.pem";
  NodeServer server(config, store);
  Status status = server.Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("cert_file and key_file go together"), std::string::npos)
      << status;
  config = BaseConfig();
  config.server.tls.cert_file = "/nonexistent/server.pem";
  config.server.tls.key_file = "/nonexistent/server.key";
  NodeServer missing(config, store);
  status = missing.Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("server.tls.cert_file '/nonexistent/server.pem' cannot be used"),
            std::string::npos)
      << status;
}

TEST(CredentialsTest, PasswordsAreSaltedAndChecked) {
  auto a = MakeUser("nurse", "pa55word", {"read"});
  auto b = MakeUser("nurse", "pa55word", {"read"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->salt, b->salt);
  EXPECT_NE(a->password_hash, b->password_hash);
  EXPECT_EQ(a->password_hash.size(), 64u);
  EXPECT_EQ(a->password_hash.find("pa55word"), std::string::npos);
  EXPECT_TRUE(CheckPassword(*a, "pa55word"));
  EXPECT_FALSE(CheckPassword(*a, "pa55wore"));
  EXPECT_FALSE(CheckPassword(*a, ""));

  auto bad_role = MakeUser("nurse", "pw", {"read", "root"});
  EXPECT_EQ(bad_role.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_role.status().message().find("unknown role 'root'"), std::string::npos);
  auto bad_name = MakeUser("nur:se", "pw", {"read"});
  EXPECT_NE(bad_name.status().message().find("user name 'nur:se' is not valid"),
            std::string::npos);
  EXPECT_NE(MakeUser("nurse", "", {"read"}).status().message().find("password is empty"),
            std::string::npos);
}

TEST(CredentialsTest, TokensAreStoredOnlyAsHashes) {
  auto issued = IssueToken("robot", {"read"});
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->token.rfind("fst_", 0), 0u);
  EXPECT_EQ(issued->config.token_hash.find(issued->token), std::string::npos);
  EXPECT_TRUE(CheckToken(issued->config, issued->token));
  EXPECT_FALSE(CheckToken(issued->config, issued->token + "x"));
  EXPECT_NE(IssueToken("robot", {}).status().message().find("no role given"), std::string::npos);
}

TEST(AtomPageWriterTest, WritesTheIct4hLayoutAndEscapes) {
  AtomFeedPage page;
  page.id = "node+2";
  page.title = "changes & more";
  page.updated = "2026-11-22T10:00:00.000Z";
  page.author = "fhirsync";
  page.generator = "fhirsync";
  page.links = {{"self", "http://h/feed/2"}, {"via", "http://h/feed/2"},
                {"next-archive", "http://h/feed/3?types=A,B"}};
  AtomFeedEntry entry;
  entry.id = "tag:atomfeed.ict4h.org:0f8fad5b-d9cb-469f-a165-70867728950e";
  entry.title = "Patient";
  entry.updated = "2026-11-22T10:00:00.000Z";
  entry.categories = {"Patient", "UPDATED"};
  entry.content = R"({"fhir":"/fhir/Patient/a]]>b/_history/2"})";
  page.entries.push_back(entry);
  auto xml = feed::WriteAtomPage(page);
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_NE(xml->find("<title>changes &amp; more</title>"), std::string::npos);
  EXPECT_NE(xml->find(R"(<link rel="next-archive" type="application/atom+xml" href="http://h/feed/3?types=A,B"/>)"), std::string::npos) << *xml;
  EXPECT_NE(xml->find(R"(<content type="application/vnd.atomfeed+xml"><![CDATA[)"), std::string::npos);
  // Read back with the project's reader: "]]>" survived the CDATA split.
  auto read = feed::ReadAtomPage("http://h/feed/2", *xml);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->entries.size(), 1u);
  EXPECT_EQ(read->entries[0].content, entry.content);
  EXPECT_EQ(read->entries[0].action, feed::AtomAction::kUpdated);
  EXPECT_EQ(read->entries[0].resource_type, "Patient");
  EXPECT_EQ(read->info.id, "node+2");
  EXPECT_EQ(read->info.next_archive, "http://h/feed/3?types=A,B");
}

}  // namespace
}  // namespace fhirsync::testing
