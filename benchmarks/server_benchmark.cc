// NodeServer throughput: GET-resource requests/s and Atom feed
// pages/s over keep-alive connections, each beside a floor: a trivial Poco
// HTTPServer handler, with the same server parameters, that answers every
// request with the same bytes (same body, same content type) and does
// nothing else. Server and floor are measured in alternating phases of the
// same iterations (see RunAgainstFloor), so both see the same load on a
// shared machine; each run reports server_req_per_s, floor_req_per_s and
// pct_of_floor (server as a percentage of the floor) for 1 and 2 client
// threads, and the ratios are printed again at the end of the run. Beside
// them: process CPU time per request of each (server_cpu_us, floor_cpu_us)
// and cpu_pct_of_floor = floor/server CPU, which load on a shared machine
// disturbs much less than wall-clock rates.
//
// Data: the 5,945 Synthea resources of ../shared/testdata/fhir-r4-bulk,
// imported into a fresh SQLite store in a temporary folder; feed page size
// 100, so pages 1..59 are archive pages. Requests carry HTTP Basic
// credentials (checked with PBKDF2 once, then from the server's cache).
// Clients: benchmark threads, each with its own keep-alive
// HTTPClientSession, on 127.0.0.1.
//
// Run (with the medians of 5 repetitions):
//   build/benchmarks/server_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// (the machine may be shared: compare ratios within one run, read medians).
//
// All threads (clients, server workers, floor workers) run on one CPU, the
// one main() starts on; --all_cpus lets the scheduler place them instead.
// Why: each request hands the CPU from the client to a worker and back. On
// the 2-vCPU VM this was tuned on, a wake-up on the other CPU costs about
// 25-30 us of CPU (so ~55 us per request), one on the same CPU a few us;
// which of the two a worker gets is decided by the scheduler per thread and
// tends to stay so for a whole run. The server's worker and the floor's
// worker are different threads, so unpinned runs often compared a server
// woken across CPUs against a floor woken on the same CPU (or the reverse):
// 13-15 % one run, 70-200 % the next, for the same build. Forced placements
// agree: both on one CPU, the server reaches ~68 % of the floor; client on
// one CPU and all workers on the other, ~84 %. One CPU is the setting where
// the per-request work of the server weighs most, so it is the default.

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/Base64Encoder.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"

namespace {

constexpr int kServerThreads = 8;
constexpr int kFeedPageSize = 100;

std::string BasicHeader(const std::string& user, const std::string& password) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << user << ":" << password;
  encoder.close();
  return "Basic " + out.str();
}

// The floor: answers every request with fixed bytes.
class FixedHandler : public Poco::Net::HTTPRequestHandler {
 public:
  FixedHandler(const std::string& body, const std::string& type) : body_(body), type_(type) {}
  // Poco's TCPServer sets TCP_NODELAY on every connection it accepts, for
  // NodeServer and the floor alike, so there is nothing to set here.
  void handleRequest(Poco::Net::HTTPServerRequest&,
                     Poco::Net::HTTPServerResponse& response) override {
    response.setContentType(type_);
    response.sendBuffer(body_.data(), body_.size());
  }

 private:
  const std::string& body_;
  const std::string& type_;
};

class FixedFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  FixedFactory(const std::string* body, const std::string* type) : body_(body), type_(type) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new FixedHandler(*body_, *type_);
  }

 private:
  const std::string* body_;
  const std::string* type_;
};

// The floor's HTTPServer, with the parameters NodeServer::Start derived
// from the same server config when it ran on Poco: pool, queue, timeouts,
// keep-alive. (NodeServer now runs on Boost.Beast, docs/deployment.md; the
// floor stays the simplest server that answers the same bytes.)
class FloorServer {
 public:
  FloorServer(const std::string* body, const std::string* type,
              const fhirsync::ServerConfig& config)
      : pool_(1, config.threads) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), config.queue_size);
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(config.threads);
    params->setMaxQueued(config.queue_size);
    params->setTimeout(Poco::Timespan(config.body_timeout_seconds, 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(std::min(config.header_timeout_seconds, 5), 0));
    params->setMaxKeepAliveRequests(0);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new FixedFactory(body, type), pool_,
                                                      socket, params);
    server_->start();
    port_ = socket.address().port();
  }
  ~FloorServer() {
    server_->stopAll(false);
    pool_.joinAll();
  }
  int port() const { return port_; }

 private:
  Poco::ThreadPool pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

struct Fixture {
  std::string dir;
  std::unique_ptr<fhirsync::LocalStore> store;
  std::unique_ptr<fhirsync::NodeServer> server;
  std::string authorization;
  std::vector<std::string> resource_paths;  // /fhir/Type/id
  std::int64_t archive_pages = 0;
  // What the floors answer with: one resource body, archive page 1 and the
  // recent page (which is partial, so smaller than an archive page).
  std::string resource_body;
  std::string feed_body;
  std::string recent_body;
  std::string fhir_type = "application/fhir+json; charset=utf-8";
  std::string atom_type = "application/atom+xml; charset=utf-8";
  std::unique_ptr<FloorServer> resource_floor;
  std::unique_ptr<FloorServer> feed_floor;
  std::unique_ptr<FloorServer> recent_floor;
};

std::string Fetch(Poco::Net::HTTPClientSession& session, const std::string& path,
                  const std::string& authorization, int* status) {
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  request.set("Authorization", authorization);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  std::string body;
  Poco::StreamCopier::copyToString(in, body);
  *status = response.getStatus();
  return body;
}

Fixture& GetFixture() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    char pattern[] = "/tmp/fhirsync-server-bench-XXXXXX";
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
    for (const auto& file : std::filesystem::directory_iterator(
             std::string(FHIRSYNC_TESTDATA_DIR) + "/fhir-r4-bulk")) {
      if (file.path().extension() != ".ndjson") continue;
      std::ifstream in(file.path());
      for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        rapidjson::Document doc;
        doc.Parse(line.c_str());
        fhirsync::WriteOp op;
        op.type = doc["resourceType"].GetString();
        op.id = doc["id"].GetString();
        op.body = line;
        f->resource_paths.push_back("/fhir/" + op.type + "/" + op.id);
        ops.push_back(std::move(op));
      }
    }
    auto imported = f->store->Import(ops, {}, 1000);
    if (!imported.ok()) {
      std::cerr << "import failed: " << imported.status() << "\n";
      std::exit(1);
    }
    f->archive_pages = static_cast<std::int64_t>(ops.size()) / kFeedPageSize - 1;
    config.server.feed_page_size = kFeedPageSize;
    config.server.threads = kServerThreads;
    config.server.users.push_back(*fhirsync::MakeUser("bench", "bench-pw", {"read"}));
    f->authorization = BasicHeader("bench", "bench-pw");
    fhirsync::NodeServer::Options options;
    f->server = std::make_unique<fhirsync::NodeServer>(config, *f->store, options);
    if (!f->server->Start().ok()) std::exit(1);

    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(f->server->port()));
    int status = 0;
    f->resource_body = Fetch(session, f->resource_paths.front(), f->authorization, &status);
    f->feed_body = Fetch(session, "/feed/1", f->authorization, &status);
    if (status != 200) {
      std::cerr << "feed page 1 answered " << status << "\n";
      std::exit(1);
    }
    f->recent_body = Fetch(session, "/feed/recent", f->authorization, &status);
    if (status != 200) {
      std::cerr << "the recent feed page answered " << status << "\n";
      std::exit(1);
    }
    f->resource_floor =
        std::make_unique<FloorServer>(&f->resource_body, &f->fhir_type, config.server);
    f->feed_floor = std::make_unique<FloorServer>(&f->feed_body, &f->atom_type, config.server);
    f->recent_floor =
        std::make_unique<FloorServer>(&f->recent_body, &f->atom_type, config.server);
    return f;
  }();
  return *fixture;
}

// One client's keep-alive connection issuing GETs of `paths` round robin.
class Client {
 public:
  Client(int port, const std::vector<std::string>& paths, std::size_t start)
      : session_("127.0.0.1", static_cast<Poco::UInt16>(port)), paths_(paths), next_(start) {
    session_.setKeepAlive(true);
  }
  // Sends `count` GETs; false (with `error` set) on an answer other than 200.
  bool Run(int count, const std::string& authorization, std::string* error) {
    for (int i = 0; i < count; ++i) {
      int status = 0;
      std::string body = Fetch(session_, paths_[next_++ % paths_.size()], authorization, &status);
      if (status != 200) {
        *error = "status " + std::to_string(status);
        return false;
      }
      benchmark::DoNotOptimize(body.data());
    }
    return true;
  }

 private:
  Poco::Net::HTTPClientSession session_;
  const std::vector<std::string>& paths_;
  std::size_t next_;
};

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Requests per phase and client thread.
constexpr int kPhaseRequests = 40;

// The server and its floor measured in alternating phases of the same
// iteration, so both see the same load on a shared machine: every client
// thread sends kPhaseRequests to the server, all wait for each other, then
// kPhaseRequests of the same size to the floor. Thread 0 times each phase
// from barrier to barrier (all threads' requests) and reports
// server_req_per_s, floor_req_per_s and pct_of_floor.
void RunAgainstFloor(benchmark::State& state, int floor_port, const std::string* floor_path,
                     const std::vector<std::string>& paths) {
  Fixture& f = GetFixture();
  static std::unique_ptr<std::barrier<>> barrier;
  // Made before the loop, whose start is a barrier of all benchmark threads,
  // so no thread uses it before it exists.
  if (state.thread_index() == 0) barrier = std::make_unique<std::barrier<>>(state.threads());
  const std::vector<std::string> floor_paths = {*floor_path};
  const std::size_t start = static_cast<std::size_t>(state.thread_index()) * 7;
  std::optional<Client> server;
  std::optional<Client> floor;
  double server_seconds = 0;
  double floor_seconds = 0;
  double server_cpu_seconds = 0;
  double floor_cpu_seconds = 0;
  std::string error;
  bool failed = false;
  for (auto _ : state) {
    if (!server) {
      server.emplace(f.server->port(), paths, start);
      floor.emplace(floor_port, floor_paths, 0);
    }
    for (int phase = 0; phase < 2; ++phase) {
      barrier->arrive_and_wait();
      auto begin = std::chrono::steady_clock::now();
      const double cpu_begin = ProcessCpuSeconds();
      Client& client = phase == 0 ? *server : *floor;
      if (!failed && !client.Run(kPhaseRequests, f.authorization, &error)) failed = true;
      barrier->arrive_and_wait();
      const double cpu = ProcessCpuSeconds() - cpu_begin;
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      (phase == 0 ? server_seconds : floor_seconds) += seconds;
      (phase == 0 ? server_cpu_seconds : floor_cpu_seconds) += cpu;
    }
    if (failed) {
      // Leave the barrier so the other threads' phases go on without this one.
      barrier->arrive_and_drop();
      state.SkipWithError(error.c_str());
      break;
    }
  }
  if (state.thread_index() != 0 || failed) return;
  const double requests =
      static_cast<double>(state.iterations()) * kPhaseRequests * state.threads();
  const double server_rate = server_seconds > 0 ? requests / server_seconds : 0;
  const double floor_rate = floor_seconds > 0 ? requests / floor_seconds : 0;
  state.counters["server_req_per_s"] = server_rate;
  state.counters["floor_req_per_s"] = floor_rate;
  state.counters["pct_of_floor"] = floor_rate > 0 ? 100.0 * server_rate / floor_rate : 0;
  // CPU time of the whole process (clients, server, floor) per request: on a
  // busy machine wall-clock rates mostly measure waiting for a core, while
  // CPU per request does not. floor/server CPU is the throughput ratio the
  // two would reach when CPU-bound.
  state.counters["server_cpu_us"] = 1e6 * server_cpu_seconds / requests;
  state.counters["floor_cpu_us"] = 1e6 * floor_cpu_seconds / requests;
  state.counters["cpu_pct_of_floor"] =
      server_cpu_seconds > 0 ? 100.0 * floor_cpu_seconds / server_cpu_seconds : 0;
}

// The same resource again and again, against a floor answering its bytes.
void BM_GetResource(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunAgainstFloor(state, f.resource_floor->port(), &f.resource_paths.front(),
                  {f.resource_paths.front()});
}
// Every resource in turn (the store's page cache is not always warm for it),
// against the same floor.
void BM_GetResourceMixed(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunAgainstFloor(state, f.resource_floor->port(), &f.resource_paths.front(), f.resource_paths);
}
// Archive pages 1..n in turn, against a floor answering page 1's bytes.
void BM_FeedArchivePage(benchmark::State& state) {
  Fixture& f = GetFixture();
  static const std::string kFloorPath = "/feed/1";
  std::vector<std::string> pages;
  for (std::int64_t n = 1; n <= f.archive_pages; ++n) pages.push_back("/feed/" + std::to_string(n));
  RunAgainstFloor(state, f.feed_floor->port(), &kFloorPath, pages);
}
// The recent page (asks the store for its last seq on every request),
// against a floor answering the recent page's bytes.
void BM_FeedRecentPage(benchmark::State& state) {
  Fixture& f = GetFixture();
  static const std::string kFloorPath = "/feed/recent";
  RunAgainstFloor(state, f.recent_floor->port(), &kFloorPath, {"/feed/recent"});
}

// The store alone, for reading the figures above: what one LocalStore::Get
// of the same resource costs in this process, without any HTTP.
void BM_StoreGetOnly(benchmark::State& state) {
  Fixture& f = GetFixture();
  const std::string& path = f.resource_paths.front();  // /fhir/Type/id
  std::size_t slash = path.find('/', 6);
  const std::string type = path.substr(6, slash - 6);
  const std::string id = path.substr(slash + 1);
  for (auto _ : state) {
    auto resource = f.store->Get(type, id);
    if (!resource.ok()) {
      state.SkipWithError("get failed");
      break;
    }
    benchmark::DoNotOptimize(resource->body.data());
  }
  state.counters["gets_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StoreGetOnly)->UseRealTime();

#define SERVER_BENCHMARK(fn) BENCHMARK(fn)->Threads(1)->Threads(2)->UseRealTime()->MinTime(1.0)
SERVER_BENCHMARK(BM_GetResource);
SERVER_BENCHMARK(BM_GetResourceMixed);
SERVER_BENCHMARK(BM_FeedArchivePage);
SERVER_BENCHMARK(BM_FeedRecentPage);

// Prints the usual table, then the pct_of_floor of each run (or of each
// mean/median aggregate with --benchmark_repetitions) as a summary.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median" &&
          run.aggregate_name != "mean") {
        continue;
      }
      auto pct = run.counters.find("pct_of_floor");
      if (pct == run.counters.end()) continue;
      char line[256];
      std::snprintf(line, sizeof line,
                    "  %-20s threads:%lld %-6s %9.0f req/s vs floor %9.0f req/s = %5.1f%%"
                    "   (CPU per request %.1f us vs %.1f us = %5.1f%%)\n",
                    run.run_name.function_name.c_str(), static_cast<long long>(run.threads),
                    run.run_type == Run::RT_Aggregate ? run.aggregate_name.c_str() : "",
                    run.counters.at("server_req_per_s").value,
                    run.counters.at("floor_req_per_s").value, pct->second.value,
                    run.counters.at("server_cpu_us").value, run.counters.at("floor_cpu_us").value,
                    run.counters.at("cpu_pct_of_floor").value);
      summary_ += line;
    }
  }
  // `placement` says where the threads ran, so that pasted figures say it.
  void PrintRatios(const std::string& placement) const {
    std::cout << "\nserver / floor (alternating phases, same client threads, " << placement
              << "):\n"
              << summary_;
  }

 private:
  std::string summary_;
};

// Pins this thread, and so every thread made after it, to the CPU it runs
// on (see the top of this file). False when the system refuses.
bool PinToThisCpu(int* cpu) {
  *cpu = sched_getcpu();
  if (*cpu < 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(*cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool all_cpus = false;
  std::string placement = "threads placed by the scheduler";
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--all_cpus") {
      all_cpus = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (!all_cpus) {
    int cpu = -1;
    if (PinToThisCpu(&cpu)) {
      placement = "all threads on CPU " + std::to_string(cpu);
      std::cout << placement << " (--all_cpus to let the scheduler place them)\n";
    } else {
      placement = "could not pin to one CPU; " + placement;
      std::cout << placement << "\n";
    }
  }
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios(placement);
  Fixture& f = GetFixture();
  f.server->Stop();
  std::filesystem::remove_all(f.dir);
  return 0;
}
