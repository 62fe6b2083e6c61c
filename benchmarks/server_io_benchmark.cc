// NodeServer under idle and slow connections: the latency of a normal GET
// (a fresh connection, HTTP Basic credentials, GET /fhir/Patient/{id})
// while 2,000 idle connections and 500 that drip their request head (one
// header line each every 500 ms, never ending it) are open against the
// same server, beside the same GET with no background connections, in the
// same run. Counters: quiet_p50_ms, quiet_p99_ms, loaded_p50_ms,
// loaded_p99_ms and p99_ratio (loaded / quiet), plus how many background
// connections were open when the loaded phase ended (idle_open, slow_open)
// and how many had to be reopened because the server cut them at
// server.header_timeout_seconds (reopened).
//
// The server runs in this process with the default server config (8
// workers, head deadline 10 s) except the connection caps, raised so that
// one client address may hold the 2,500 connections. The background
// connections are kept up by a thread that reopens those the server closes,
// as an attacker would.
//
// Run:
//   build/benchmarks/server_io_benchmark --benchmark_repetitions=3
// It raises RLIMIT_NOFILE's soft limit to the hard one; it needs about
// 5,100 descriptors (both ends of every connection are in this process).

#include <benchmark/benchmark.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"

namespace {

using Status = fhirsync::Status;

constexpr int kIdle = 2000;
constexpr int kSlow = 500;
constexpr int kSamples = 400;  // GETs per phase
constexpr int kPatients = 50;

struct Fixture {
  std::string dir;
  std::unique_ptr<fhirsync::LocalStore> store;
  std::unique_ptr<fhirsync::NodeServer> server;
  std::string authorization;
};

std::string BasicHeader(const std::string& user, const std::string& password) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << user << ":" << password;
  encoder.close();
  return "Basic " + out.str();
}

Fixture& GetFixture() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    char pattern[] = "/tmp/fhirsync-server-io-bench-XXXXXX";
    f->dir = mkdtemp(pattern);
    fhirsync::NodeConfig config;
    config.node_id = "bench-parent";
    config.store.path = f->dir + "/store.sqlite";
    auto store = fhirsync::OpenLocalStore(config.store, f->dir, config.node_id);
    if (!store.ok()) {
      std::cerr << "cannot open the store: " << store.status() << "\n";
      std::exit(1);
    }
    f->store = std::move(*store);
    std::vector<fhirsync::WriteOp> ops;
    for (int i = 0; i < kPatients; ++i) {
      fhirsync::WriteOp op;
      op.type = "Patient";
      op.id = "p" + std::to_string(i);
      op.body = R"({"resourceType":"Patient","id":")" + op.id +
                R"(","name":[{"family":"Bench","given":["P)" + std::to_string(i) + R"("]}]})";
      ops.push_back(std::move(op));
    }
    auto imported = f->store->Import(ops, {}, 1000);
    if (!imported.ok()) {
      std::cerr << "import failed: " << imported.status() << "\n";
      std::exit(1);
    }
    config.server.max_connections_per_address = 10000;
    config.server.max_connections = 10000;
    config.server.users.push_back(*fhirsync::MakeUser("bench", "bench-pw", {"read"}));
    f->authorization = BasicHeader("bench", "bench-pw");
    f->server = std::make_unique<fhirsync::NodeServer>(config, *f->store);
    if (Status started = f->server->Start(); !started.ok()) {
      std::cerr << "cannot start the server: " << started << "\n";
      std::exit(1);
    }
    return f;
  }();
  return *fixture;
}

// A blocking connection to 127.0.0.1:port; -1 on failure.
int Open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  return send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

// The 2,000 idle and 500 dripping connections, kept open by a thread until
// destroyed.
class Background {
 public:
  explicit Background(int port) : port_(port) {
    for (int i = 0; i < kIdle; ++i) idle_.push_back(Open(port_));
    for (int i = 0; i < kSlow; ++i) slow_.push_back(OpenSlow());
    thread_ = std::thread([this] { Run(); });
  }
  ~Background() {
    stop_.store(true);
    thread_.join();
    for (int fd : idle_) if (fd >= 0) close(fd);
    for (int fd : slow_) if (fd >= 0) close(fd);
  }
  int idle_open() const { return Count(idle_); }
  int slow_open() const { return Count(slow_); }
  int reopened() const { return reopened_.load(); }

 private:
  int OpenSlow() {
    int fd = Open(port_);
    if (fd >= 0) SendAll(fd, "GET /fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    return fd;
  }
  static int Count(const std::vector<int>& fds) {
    return static_cast<int>(std::count_if(fds.begin(), fds.end(), [](int fd) { return fd >= 0; }));
  }
  // A connection the server closed reads as end of stream (or an error).
  static bool Closed(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0 || (p.revents & POLLIN) != 0;
  }
  void Reopen(std::vector<int>& fds, bool slow) {
    for (int& fd : fds) {
      if (fd >= 0 && !Closed(fd)) continue;
      if (fd >= 0) close(fd);
      fd = slow ? OpenSlow() : Open(port_);
      reopened_.fetch_add(1);
    }
  }
  void Run() {
    int line = 0;
    while (!stop_.load()) {
      const std::string header = "X-Drip-" + std::to_string(line++) + ": x\r\n";
      for (int fd : slow_) {
        if (fd >= 0) SendAll(fd, header);
      }
      Reopen(idle_, false);
      Reopen(slow_, true);
      for (int i = 0; i < 10 && !stop_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  const int port_;
  std::vector<int> idle_;
  std::vector<int> slow_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reopened_{0};
  std::thread thread_;
};

// One GET on a fresh connection; its latency in ms, or -1 when it failed.
double TimedGet(int port, const std::string& path, const std::string& authorization) {
  const auto started = std::chrono::steady_clock::now();
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(60, 0));
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", authorization);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string body;
    Poco::StreamCopier::copyToString(in, body);
    if (response.getStatus() != 200) return -1;
  } catch (const Poco::Exception&) {
    return -1;
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
      .count();
}

double Percentile(std::vector<double> samples, double p) {
  std::sort(samples.begin(), samples.end());
  const std::size_t index =
      std::min(samples.size() - 1, static_cast<std::size_t>(p * static_cast<double>(samples.size())));
  return samples[index];
}

// Measures kSamples GETs; false (with the error set) when one fails.
bool Measure(benchmark::State& state, const Fixture& f, std::vector<double>* out) {
  out->clear();
  for (int i = 0; i < kSamples; ++i) {
    const double ms = TimedGet(f.server->port(), "/fhir/Patient/p" + std::to_string(i % kPatients),
                               f.authorization);
    if (ms < 0) {
      state.SkipWithError("a GET failed");
      return false;
    }
    out->push_back(ms);
  }
  return true;
}

void BM_GetBesideIdleAndSlowConnections(benchmark::State& state) {
  Fixture& f = GetFixture();
  for (auto _ : state) {
    std::vector<double> quiet;
    std::vector<double> loaded;
    if (!Measure(state, f, &quiet)) return;
    int idle_open = 0, slow_open = 0, reopened = 0;
    const auto started = std::chrono::steady_clock::now();
    {
      Background background(f.server->port());
      if (!Measure(state, f, &loaded)) return;
      idle_open = background.idle_open();
      slow_open = background.slow_open();
      reopened = background.reopened();
    }
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    state.counters["quiet_p50_ms"] = Percentile(quiet, 0.50);
    state.counters["quiet_p99_ms"] = Percentile(quiet, 0.99);
    state.counters["loaded_p50_ms"] = Percentile(loaded, 0.50);
    state.counters["loaded_p99_ms"] = Percentile(loaded, 0.99);
    state.counters["p99_ratio"] = Percentile(loaded, 0.99) / Percentile(quiet, 0.99);
    state.counters["idle_open"] = idle_open;
    state.counters["slow_open"] = slow_open;
    state.counters["reopened"] = reopened;
  }
}
BENCHMARK(BM_GetBesideIdleAndSlowConnections)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 2 * (kIdle + kSlow) + 200) {
    std::cerr << "RLIMIT_NOFILE is " << limit.rlim_cur << "; this benchmark needs about "
              << 2 * (kIdle + kSlow) + 200 << " descriptors\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  RaiseOpenFileLimit();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  Fixture& f = GetFixture();
  f.server->Stop();
  std::filesystem::remove_all(f.dir);
  return 0;
}
