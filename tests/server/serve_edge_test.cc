// The network edge of a real `fhirsync serve` process: TLS with a throwaway
// CA made by the test (server certificate, untrusting clients, plain HTTP to
// the TLS port, mutual TLS with a client certificate standing for a user),
// the refusal to serve plain HTTP beyond loopback, and connections that are
// idle, slow or too many (docs/deployment.md).

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "support/test_certificates.h"
#include "test_client.h"

namespace fhirsync::testing {
namespace {

const std::string kBinary = FHIRSYNC_BINARY;
constexpr auto kStartDeadline = std::chrono::seconds(30);

ProcessResult Fhirsync(const std::vector<std::string>& args, const ProcessOptions& options = {}) {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

// A node folder with user "nurse" (read) whose password is "nurse-pw".
std::string MakeNode(const TempDir& tmp) {
  const std::string dir = tmp.path() + "/node";
  EXPECT_EQ(Fhirsync({"init", "--dir", dir, "--node-id", "p"}).exit_code, 0);
  ProcessOptions password;
  password.stdin_data = "nurse-pw\n";
  ProcessResult added = Fhirsync({"user", "add", "--dir", dir, "nurse", "--role", "read"}, password);
  EXPECT_EQ(added.exit_code, 0) << added.err;
  return dir;
}

void SetConfig(const std::string& dir, const std::string& key, const std::string& value) {
  ProcessResult set = Fhirsync({"config", "set", "--dir", dir, key, value});
  ASSERT_EQ(set.exit_code, 0) << key << ": " << set.err;
}

// Starts `serve` and reads its port from "listening on SCHEME://127.0.0.1:".
bool StartServe(ChildProcess* child, const std::string& dir, const std::string& scheme, int* port,
                std::string* error) {
  if (!child->Start({kBinary, "serve", "--dir", dir, "--bind", "127.0.0.1", "--port", "0"}, {},
                    error)) {
    return false;
  }
  const std::string prefix = "listening on " + scheme + "://127.0.0.1:";
  if (!child->WaitForStdout(prefix, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        kStartDeadline))) {
    *error = "no listening line; stdout: " + child->Stdout() + "; stderr: " + child->Stderr();
    return false;
  }
  const std::string out = child->Stdout();
  *port = std::stoi(out.substr(out.find(prefix) + prefix.size()));
  return *port > 0;
}

struct HttpsReply {
  bool ok = false;  // a whole HTTP answer was read
  int status = 0;
  std::string body;
  std::string error;  // why not, when !ok
};

struct TlsClient {
  std::string ca_file;      // trusted; empty: the system's store
  std::string cert_file;    // client certificate; empty: none
  std::string key_file;
  int max_version = 0;      // e.g. TLS1_1_VERSION; 0: no cap
};

// GET `target` over HTTPS from 127.0.0.1:`port`, verifying the server's
// certificate against the client's CA and the name 127.0.0.1.
HttpsReply HttpsGet(int port, const TlsClient& client, const std::string& target,
                    const std::string& authorization) {
  namespace net = boost::asio;
  namespace ssl = net::ssl;
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpsReply reply;
  try {
    net::io_context io;
    ssl::context context(ssl::context::tls_client);
    if (client.ca_file.empty()) {
      context.set_default_verify_paths();
    } else {
      context.load_verify_file(client.ca_file);
    }
    context.set_verify_mode(ssl::verify_peer);
    if (client.max_version != 0) {
      // Security level 0 lets this client offer old versions at all, so
      // that it is the server that refuses them.
      SSL_CTX_set_security_level(context.native_handle(), 0);
      SSL_CTX_set_min_proto_version(context.native_handle(), 0);
      SSL_CTX_set_max_proto_version(context.native_handle(), client.max_version);
    }
    if (!client.cert_file.empty()) {
      context.use_certificate_chain_file(client.cert_file);
      context.use_private_key_file(client.key_file, ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream).connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    // A hung server fails the test rather than hanging it.
    timeval thirty{30, 0};
    setsockopt(beast::get_lowest_layer(stream).socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO,
               &thirty, sizeof thirty);
    stream.handshake(ssl::stream_base::client);
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    request.keep_alive(false);
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    reply.ok = true;
    reply.status = static_cast<int>(response.result_int());
    reply.body = response.body();
  } catch (const std::exception& e) {
    reply.error = e.what();
  }
  return reply;
}

// Reads from `socket` until the peer closes or 60 s pass; what was read.
std::string ReadUntilClosed(Poco::Net::StreamSocket& socket, bool* closed) {
  socket.setReceiveTimeout(Poco::Timespan(60, 0));
  std::string all;
  char buffer[4096];
  *closed = false;
  try {
    for (;;) {
      int n = socket.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) {
        *closed = true;
        break;
      }
      all.append(buffer, static_cast<std::size_t>(n));
    }
  } catch (const Poco::TimeoutException&) {
  } catch (const Poco::Exception&) {
    *closed = true;  // reset
  }
  return all;
}

Poco::Net::StreamSocket Connect(int port) {
  return Poco::Net::StreamSocket(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
}

class ServeTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeNode(tmp_);
    std::filesystem::create_directories(tmp_.path() + "/pki");
    certs_ = MakeTestCertificates(tmp_.path() + "/pki", {"nurse", "stranger"});
    SetConfig(dir_, "server.tls.cert_file", certs_.server_cert);
    SetConfig(dir_, "server.tls.key_file", certs_.server_key);
  }
  void TearDown() override {
    if (serve_.Running()) {
      serve_.Signal(SIGTERM);
      serve_.Wait(std::chrono::seconds(20));
    }
  }
  void Start() {
    std::string error;
    ASSERT_TRUE(StartServe(&serve_, dir_, "https", &port_, &error)) << error;
  }

  TempDir tmp_{"fhirsync-tls"};
  std::string dir_;
  TestCertificates certs_;
  ChildProcess serve_;
  int port_ = 0;
};

TEST_F(ServeTlsTest, HttpsWithTheCaTrustedWorksAndNothingElseDoes) {
  Start();
  EXPECT_EQ(serve_.Stderr().find("plain HTTP"), std::string::npos) << serve_.Stderr();
  const std::string auth = BasicAuth("nurse", "nurse-pw");

  HttpsReply trusted = HttpsGet(port_, {certs_.ca, "", "", 0}, "/fhir/metadata", auth);
  ASSERT_TRUE(trusted.ok) << trusted.error;
  EXPECT_EQ(trusted.status, 200) << trusted.body;
  EXPECT_NE(trusted.body.find("CapabilityStatement"), std::string::npos);
  // Links the server writes name the scheme it is reached by.
  HttpsReply bundle = HttpsGet(port_, {certs_.ca, "", "", 0}, "/fhir/Patient", auth);
  ASSERT_TRUE(bundle.ok) << bundle.error;
  EXPECT_NE(bundle.body.find("https://127.0.0.1:" + std::to_string(port_) + "/fhir"),
            std::string::npos)
      << bundle.body;

  // A client that does not trust the CA refuses the server.
  HttpsReply untrusting = HttpsGet(port_, {certs_.other_ca, "", "", 0}, "/fhir/metadata", auth);
  EXPECT_FALSE(untrusting.ok);
  EXPECT_NE(untrusting.error.find("certificate verify failed"), std::string::npos)
      << untrusting.error;

  // TLS 1.1 is refused by the server.
  HttpsReply old = HttpsGet(port_, {certs_.ca, "", "", TLS1_1_VERSION}, "/fhir/metadata", auth);
  EXPECT_FALSE(old.ok) << old.status;

  // Plain HTTP to the TLS port gets no HTTP answer and a closed connection,
  // and the server goes on.
  Poco::Net::StreamSocket plain = Connect(port_);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  plain.sendBytes(request.data(), static_cast<int>(request.size()));
  bool closed = false;
  const std::string answer = ReadUntilClosed(plain, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
  HttpsReply after = HttpsGet(port_, {certs_.ca, "", "", 0}, "/healthz", "");
  ASSERT_TRUE(after.ok) << after.error;
  EXPECT_EQ(after.status, 200);
}

TEST_F(ServeTlsTest, MutualTlsNeedsAClientCertificateWhoseNameMayBeAUser) {
  SetConfig(dir_, "server.tls.client_ca_file", certs_.ca);
  Start();
  // No client certificate: the handshake is refused (under TLS 1.3 the
  // client learns it at its first read), so no HTTP answer comes.
  HttpsReply without = HttpsGet(port_, {certs_.ca, "", "", 0}, "/fhir/metadata",
                                BasicAuth("nurse", "nurse-pw"));
  EXPECT_FALSE(without.ok) << without.status << " " << without.body;

  // A certificate of a CA the server does not trust: refused too.
  TestCertificates foreign =
      MakeTestCertificates((std::filesystem::create_directories(tmp_.path() + "/foreign"),
                            tmp_.path() + "/foreign"),
                           {"nurse"});
  HttpsReply wrong_ca = HttpsGet(
      port_, {certs_.ca, foreign.client_cert("nurse"), foreign.client_key("nurse"), 0},
      "/fhir/metadata", "");
  EXPECT_FALSE(wrong_ca.ok) << wrong_ca.status << " " << wrong_ca.body;

  // The certificate named "nurse" is that user, without a password.
  HttpsReply as_nurse = HttpsGet(
      port_, {certs_.ca, certs_.client_cert("nurse"), certs_.client_key("nurse"), 0},
      "/fhir/metadata", "");
  ASSERT_TRUE(as_nurse.ok) << as_nurse.error;
  EXPECT_EQ(as_nurse.status, 200) << as_nurse.body;
  // A certificate naming nobody still needs credentials.
  HttpsReply stranger = HttpsGet(
      port_, {certs_.ca, certs_.client_cert("stranger"), certs_.client_key("stranger"), 0},
      "/fhir/metadata", "");
  ASSERT_TRUE(stranger.ok) << stranger.error;
  EXPECT_EQ(stranger.status, 401);
  EXPECT_NE(stranger.body.find("'stranger' is no user of this server"), std::string::npos)
      << stranger.body;
  HttpsReply stranger_with_password = HttpsGet(
      port_, {certs_.ca, certs_.client_cert("stranger"), certs_.client_key("stranger"), 0},
      "/fhir/metadata", BasicAuth("nurse", "nurse-pw"));
  ASSERT_TRUE(stranger_with_password.ok) << stranger_with_password.error;
  EXPECT_EQ(stranger_with_password.status, 200);

  // The access log names the user the certificate stood for.
  serve_.Signal(SIGTERM);
  ASSERT_EQ(serve_.Wait(std::chrono::seconds(20)).exit_code, 0);
  const std::string log = serve_.Stderr();
  EXPECT_NE(log.find(" nurse GET /fhir/metadata 200 "), std::string::npos) << log;
}

TEST_F(ServeTlsTest, AKeyThatIsNotTheCertificatesIsRefusedAtStart) {
  SetConfig(dir_, "server.tls.key_file", certs_.client_key("nurse"));
  ProcessOptions quick;
  quick.timeout = std::chrono::seconds(30);
  ProcessResult r = Fhirsync({"serve", "--dir", dir_, "--port", "0"}, quick);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("server.tls.key_file '" + certs_.client_key("nurse") +
                       "' cannot be used: key values mismatch"),
            std::string::npos)
      << r.err;
}

TEST(ServeEdgeTest, PlainHttpBeyondLoopbackIsRefusedUnlessAllowed) {
  TempDir tmp("fhirsync-plaintext");
  const std::string dir = MakeNode(tmp);
  ProcessOptions quick;
  quick.timeout = std::chrono::seconds(30);
  ProcessResult refused = Fhirsync({"serve", "--dir", dir, "--bind", "0.0.0.0", "--port", "0"}, quick);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_FALSE(refused.timed_out);
  EXPECT_NE(refused.err.find("refusing to serve plain HTTP on 0.0.0.0, which is not a loopback "
                             "address"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("server.allow_plaintext"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.out.find("listening on"), std::string::npos);

  SetConfig(dir, "server.allow_plaintext", "true");
  ChildProcess allowed;
  std::string error;
  ASSERT_TRUE(allowed.Start({kBinary, "serve", "--dir", dir, "--bind", "0.0.0.0", "--port", "0"},
                            {}, &error))
      << error;
  EXPECT_TRUE(allowed.WaitForStdout("listening on http://0.0.0.0:",
                                    std::chrono::duration_cast<std::chrono::milliseconds>(
                                        kStartDeadline)))
      << allowed.Stderr();
  EXPECT_NE(allowed.Stderr().find("warning: serving plain HTTP"), std::string::npos);
  allowed.Signal(SIGTERM);
  EXPECT_EQ(allowed.Wait(std::chrono::seconds(20)).exit_code, 0);
}

// Idle and slow connections cost no worker: with 2 workers, 120 idle
// connections and 6 that drip their head do not keep a normal GET from its
// answer; a head still incomplete at server.header_timeout_seconds is cut.
TEST(ServeEdgeTest, IdleAndSlowConnectionsDoNotStarveTheServer) {
  TempDir tmp("fhirsync-slow");
  const std::string dir = MakeNode(tmp);
  SetConfig(dir, "server.threads", "2");
  SetConfig(dir, "server.queue_size", "2");
  SetConfig(dir, "server.header_timeout_seconds", "3");
  SetConfig(dir, "server.max_connections_per_address", "1000");
  ChildProcess serve;
  int port = 0;
  std::string error;
  ASSERT_TRUE(StartServe(&serve, dir, "http", &port, &error)) << error;

  std::vector<Poco::Net::StreamSocket> idle;
  for (int i = 0; i < 120; ++i) idle.push_back(Connect(port));
  std::vector<Poco::Net::StreamSocket> slow;
  for (int i = 0; i < 6; ++i) {
    slow.push_back(Connect(port));
    const std::string start = "GET /fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    slow.back().sendBytes(start.data(), static_cast<int>(start.size()));
  }
  // The drippers send a header line every 200 ms and never end the head.
  std::atomic<bool> drip{true};
  std::thread dripper([&] {
    int n = 0;
    while (drip.load()) {
      const std::string line = "X-Drip-" + std::to_string(n++) + ": x\r\n";
      for (auto& socket : slow) {
        try {
          socket.sendBytes(line.data(), static_cast<int>(line.size()));
        } catch (const Poco::Exception&) {
          // cut by the server: expected at the head's deadline
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });

  TestClient client("127.0.0.1", port, BasicAuth("nurse", "nurse-pw"));
  Reply reply = client.Get("/fhir/metadata");
  EXPECT_EQ(reply.status, 200) << reply.body;
  // Several more, in a row, while the others are still there.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.Get("/healthz").status, 200);

  // Every dripping connection is closed by the server without an answer,
  // though it kept sending.
  for (auto& socket : slow) {
    bool closed = false;
    const std::string got = ReadUntilClosed(socket, &closed);
    EXPECT_TRUE(closed) << "a head dripped past the deadline was not cut";
    EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
  }
  drip.store(false);
  dripper.join();
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(std::chrono::seconds(20)).exit_code, 0);
}

// Past server.max_connections_per_address a connection is answered 503
// with Retry-After naming the limit, not reset; once connections close, new
// ones are served again.
TEST(ServeEdgeTest, ConnectionsPastThePerAddressCapGet503) {
  TempDir tmp("fhirsync-cap");
  const std::string dir = MakeNode(tmp);
  SetConfig(dir, "server.max_connections_per_address", "4");
  ChildProcess serve;
  int port = 0;
  std::string error;
  ASSERT_TRUE(StartServe(&serve, dir, "http", &port, &error)) << error;

  std::vector<Poco::Net::StreamSocket> held;
  for (int i = 0; i < 4; ++i) held.push_back(Connect(port));
  // The server counts a connection once it has accepted it; a request on
  // each shows that all four are counted.
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (auto& socket : held) {
    socket.sendBytes(health.data(), static_cast<int>(health.size()));
    char buffer[1024];
    socket.setReceiveTimeout(Poco::Timespan(30, 0));
    ASSERT_GT(socket.receiveBytes(buffer, sizeof buffer), 0);
  }
  std::string over;
  for (int attempt = 0; attempt < 3; ++attempt) {
    Poco::Net::StreamSocket fifth = Connect(port);
    const std::string request = "GET /fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                                BasicAuth("nurse", "nurse-pw") + "\r\n\r\n";
    fifth.sendBytes(request.data(), static_cast<int>(request.size()));
    bool closed = false;
    over = ReadUntilClosed(fifth, &closed);
    EXPECT_TRUE(closed);
    ASSERT_EQ(over.rfind("HTTP/1.1 503", 0), 0u) << over;
  }
  EXPECT_NE(over.find("Retry-After: 1"), std::string::npos) << over;
  EXPECT_NE(over.find("server.max_connections_per_address"), std::string::npos) << over;

  for (auto& socket : held) socket.close();
  // The server sees the closes asynchronously: poll with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    TestClient client("127.0.0.1", port, BasicAuth("nurse", "nurse-pw"));
    status = client.Get("/fhir/metadata").status;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(std::chrono::seconds(20)).exit_code, 0);
}

}  // namespace
}  // namespace fhirsync::testing
