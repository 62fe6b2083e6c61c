// `serve` and `sync --watch` as systemd runs them (Type=notify): each tells
// the socket in NOTIFY_SOCKET READY=1 once it listens or runs and
// STOPPING=1 on SIGTERM, then exits 0. And the child's view of a type no
// plugin carries: a local configuration problem, not an invalid record.
// Real processes, a real parent on 127.0.0.1, a datagram socket the test
// owns.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "cli_harness.h"
#include "support/serve_process.h"

namespace fhirsync::cli_test {
namespace {

using ::fhirsync::testing::ChildProcess;
using ::fhirsync::testing::ServeProcess;

constexpr char kChildUser[] = "tablet";
constexpr char kChildPassword[] = "service test password";

// A datagram socket bound to a path, as systemd's notification socket is.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.size() >= sizeof(address.sun_path)) return;
    std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }

  bool bound() const { return bound_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // Receives datagrams until one holds the line `line` or `timeout` passes.
  // Returns that datagram, or "" (everything seen is in received()).
  std::string WaitFor(const std::string& line, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) continue;
      std::string message(buffer, static_cast<std::size_t>(n));
      received_ += message + "\n--\n";
      if (("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos) return message;
    }
  }
  const std::string& received() const { return received_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::string received_;
};

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest()
      : tmp_("fhirsync-service"),
        parent_dir_(tmp_.Sub("parent")),
        notify_(tmp_.path() + "/notify.sock") {}

  void SetUp() override {
    ASSERT_TRUE(notify_.bound()) << std::strerror(errno);
    ProcessResult init = Fhirsync({"init", "--dir", parent_dir_, "--node-id", "district"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ProcessOptions password;
    password.stdin_data = std::string(kChildPassword) + "\n";
    ProcessResult user =
        Fhirsync({"user", "add", kChildUser, "--role", "read,write", "--dir", parent_dir_},
                 password);
    ASSERT_EQ(user.exit_code, 0) << user.err;
  }

  std::string InitChild(const std::string& parent_url) {
    const std::string dir = tmp_.Sub("child");
    ProcessOptions password;
    password.stdin_data = std::string(kChildPassword) + "\n";
    ProcessResult init = Fhirsync({"init", "--dir", dir, "--node-id", "tablet-1", "--parent",
                                   parent_url, "--parent-user", kChildUser},
                                  password);
    EXPECT_EQ(init.exit_code, 0) << init.err;
    return dir;
  }

  // SIGTERM, then STOPPING=1 on the socket and exit 0.
  void ExpectGracefulStop(ChildProcess& process) {
    ASSERT_TRUE(process.Signal(SIGTERM));
    std::string stopping = notify_.WaitFor("STOPPING=1", std::chrono::seconds(30));
    EXPECT_FALSE(stopping.empty()) << "no STOPPING=1; received:\n" << notify_.received();
    ProcessResult end = process.Wait(std::chrono::seconds(60));
    EXPECT_EQ(end.exit_code, 0) << end.Describe() << "\n" << end.err;
  }

  TempDir tmp_;
  std::string parent_dir_;
  NotifySocket notify_;
};

TEST_F(ServiceTest, ServeSaysReadyOnceListeningAndStoppingOnSigterm) {
  ChildProcess serve;
  ProcessOptions options;
  options.env = {notify_.env()};
  std::string error;
  ASSERT_TRUE(serve.Start({kBinary, "serve", "--dir", parent_dir_, "--bind", "127.0.0.1",
                           "--port", "0"},
                          options, &error))
      << error;
  std::string ready = notify_.WaitFor("READY=1", std::chrono::seconds(60));
  ASSERT_FALSE(ready.empty()) << "no READY=1; received:\n"
                              << notify_.received() << "\nstderr: " << serve.Stderr();
  // READY comes once the server listens, naming its address.
  ASSERT_TRUE(serve.WaitForStdout("listening on http://127.0.0.1:", std::chrono::seconds(5)));
  const std::string out = serve.Stdout();
  const std::string url = out.substr(out.find("http://"), out.find('\n') - out.find("http://"));
  EXPECT_NE(ready.find("STATUS=listening on " + url), std::string::npos) << ready;
  EXPECT_NE(ready.find("MAINPID=" + std::to_string(serve.pid())), std::string::npos) << ready;
  ExpectGracefulStop(serve);
}

TEST_F(ServiceTest, SyncWatchSaysReadyWhenTheDaemonRunsAndStoppingOnSigterm) {
  ServeProcess parent(kBinary, parent_dir_);
  ASSERT_TRUE(parent.Start()) << parent.error();
  const std::string child = InitChild(parent.url());
  ChildProcess daemon;
  ProcessOptions options;
  options.env = {notify_.env()};
  std::string error;
  ASSERT_TRUE(daemon.Start({kBinary, "sync", "--watch", "--dir", child}, options, &error))
      << error;
  std::string ready = notify_.WaitFor("READY=1", std::chrono::seconds(60));
  ASSERT_FALSE(ready.empty()) << "no READY=1; received:\n"
                              << notify_.received() << "\nstderr: " << daemon.Stderr();
  EXPECT_NE(ready.find("STATUS=syncing with " + parent.url()), std::string::npos) << ready;
  ExpectGracefulStop(daemon);
}

TEST_F(ServiceTest, WithoutNotifySocketNothingIsSent) {
  // The same daemon started by hand: no socket in the environment, and the
  // test's socket hears nothing.
  ChildProcess serve;
  std::string error;
  ASSERT_TRUE(serve.Start({kBinary, "serve", "--dir", parent_dir_, "--port", "0"}, {}, &error))
      << error;
  ASSERT_TRUE(serve.WaitForStdout("listening on", std::chrono::seconds(60))) << serve.Stderr();
  EXPECT_EQ(notify_.WaitFor("READY=1", std::chrono::milliseconds(300)), "");
  EXPECT_EQ(notify_.received(), "");
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(std::chrono::seconds(60)).exit_code, 0);
}

TEST_F(ServiceTest, ATypeNoPluginCarriesIsThisNodesConfigurationProblem) {
  ServeProcess parent(kBinary, parent_dir_);
  ASSERT_TRUE(parent.Start()) << parent.error();
  const std::string child = InitChild(parent.url());
  // An OpenMRS REST record on a child whose only plugin speaks FHIR.
  ProcessResult put = Fhirsync({"put", kTestData + "/openmrs-rest/create_patient_from_get.json",
                                "--format", "openmrs-rest", "--type", "patient", "--dir", child});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ProcessResult sync = Fhirsync({"sync", "--once", "--push", "--dir", child});
  EXPECT_NE(sync.exit_code, -1) << sync.Describe();

  ProcessResult outbox = Fhirsync({"outbox", "--dir", child, "--json"});
  ASSERT_EQ(outbox.exit_code, 0) << outbox.err;
  rapidjson::Document items;
  ASSERT_TRUE(ParseJson(outbox.out, &items));
  ASSERT_EQ(items["items"].Size(), 1u) << outbox.out;
  const rapidjson::Value& item = items["items"][0];
  EXPECT_STREQ(item["state"].GetString(), "dead") << outbox.out;
  EXPECT_STREQ(item["class"].GetString(), "configuration") << outbox.out;
  EXPECT_NE(std::string(item["message"].GetString()).find("no plugin carries patient"),
            std::string::npos)
      << outbox.out;

  ProcessResult status = Fhirsync({"status", "--dir", child});
  EXPECT_EQ(status.exit_code, 1) << status.out << status.err;
  EXPECT_NE(status.out.find("this node's own configuration has no plugin that carries them"),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("plugins.load"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("the parent found them invalid"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace fhirsync::cli_test
