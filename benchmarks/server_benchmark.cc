// NodeServer throughput (issue 3): GET-resource requests/s and Atom feed
// pages/s over keep-alive connections, each beside a floor: a trivial Poco
// HTTPServer handler, with the same server parameters, that answers every
// request with the same bytes (same body, same content type) and does
// nothing else. Each server run gets a counter pct_of_floor (server req/s
// as a percentage of the floor's at the same client threads, same run), and
// the ratios are printed again at the end of the run.
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

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <stdlib.h>

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

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "fhirsync/credentials.h"
#include "fhirsync/feed/atom_page_writer.h"
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
  void handleRequest(Poco::Net::HTTPServerRequest& request,
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

class FloorServer {
 public:
  FloorServer(const std::string* body, const std::string* type) : pool_(1, kServerThreads) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(kServerThreads);
    params->setMaxQueued(64);
    params->setKeepAlive(true);
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
  // What the floors answer with: one resource body and one feed page.
  std::string resource_body;
  std::string feed_body;
  std::string fhir_type = "application/fhir+json; charset=utf-8";
  std::string atom_type = "application/atom+xml; charset=utf-8";
  std::unique_ptr<FloorServer> resource_floor;
  std::unique_ptr<FloorServer> feed_floor;
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
    options.atom_renderer = fhirsync::feed::WriteAtomPage;
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
    f->resource_floor = std::make_unique<FloorServer>(&f->resource_body, &f->fhir_type);
    f->feed_floor = std::make_unique<FloorServer>(&f->feed_body, &f->atom_type);
    return f;
  }();
  return *fixture;
}

// Issues GETs of `paths` (round robin) to `port`, counting requests and bytes.
void RunGets(benchmark::State& state, int port, const std::vector<std::string>& paths) {
  Fixture& f = GetFixture();
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setKeepAlive(true);
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    int status = 0;
    std::string body = Fetch(session, paths[i++ % paths.size()], f.authorization, &status);
    if (status != 200) {
      state.SkipWithError(("status " + std::to_string(status)).c_str());
      break;
    }
    bytes += static_cast<std::int64_t>(body.size());
  }
  state.counters["req_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(bytes);
}

void BM_GetResource_Server(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunGets(state, f.server->port(), {f.resource_paths.front()});
}
void BM_GetResource_Floor(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunGets(state, f.resource_floor->port(), {f.resource_paths.front()});
}
// Every resource in turn: the store's cache is not always warm for it.
void BM_GetResourceMixed_Server(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunGets(state, f.server->port(), f.resource_paths);
}
void BM_FeedArchivePage_Server(benchmark::State& state) {
  Fixture& f = GetFixture();
  std::vector<std::string> pages;
  for (std::int64_t n = 1; n <= f.archive_pages; ++n) pages.push_back("/feed/" + std::to_string(n));
  RunGets(state, f.server->port(), pages);
}
void BM_FeedRecentPage_Server(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunGets(state, f.server->port(), {"/feed/recent"});
}
void BM_FeedPage_Floor(benchmark::State& state) {
  Fixture& f = GetFixture();
  RunGets(state, f.feed_floor->port(), {"/feed/1"});
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
SERVER_BENCHMARK(BM_GetResource_Floor);
SERVER_BENCHMARK(BM_GetResource_Server);
SERVER_BENCHMARK(BM_GetResourceMixed_Server);
SERVER_BENCHMARK(BM_FeedPage_Floor);
SERVER_BENCHMARK(BM_FeedArchivePage_Server);
SERVER_BENCHMARK(BM_FeedRecentPage_Server);

// Adds to each server run a counter `pct_of_floor`: its req/s as a
// percentage of the floor's req/s at the same client threads in this run
// (floors are registered, so they run, before the servers they are compared
// with). With --benchmark_repetitions, each aggregate (mean, median) is
// compared with the floor's aggregate of the same name. Prints the ratios
// again as a summary at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& reported) override {
    std::vector<Run> runs = reported;
    for (Run& run : runs) {
      auto rate = run.counters.find("req_per_s");
      if (rate == run.counters.end()) continue;
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "mean" &&
          run.aggregate_name != "median") {
        continue;
      }
      const std::string name = run.run_name.function_name;
      rates_[Key(name, run)] = rate->second.value;
      auto floor_name = kFloorOf.find(name);
      if (floor_name == kFloorOf.end()) continue;
      auto floor = rates_.find(Key(floor_name->second, run));
      if (floor == rates_.end() || floor->second <= 0) continue;
      const double percent = 100.0 * rate->second.value / floor->second;
      run.counters["pct_of_floor"] = benchmark::Counter(percent);
      ratios_.push_back({name, floor_name->second, run.threads,
                         run.run_type == Run::RT_Aggregate ? run.aggregate_name : "",
                         rate->second.value, floor->second, percent});
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintRatios() const {
    std::cout << "\nserver / floor (same run, same client threads):\n";
    for (const Ratio& r : ratios_) {
      std::printf("  %-28s threads:%lld %-6s %9.0f req/s vs %-22s %9.0f req/s = %5.1f%%\n",
                  r.server.c_str(), static_cast<long long>(r.threads), r.aggregate.c_str(), r.server_rate,
                  r.floor.c_str(), r.floor_rate, r.percent);
    }
  }

 private:
  struct Ratio {
    std::string server;
    std::string floor;
    std::int64_t threads;
    std::string aggregate;  // "", "mean" or "median"
    double server_rate;
    double floor_rate;
    double percent;
  };

  static std::string Key(const std::string& function, const Run& run) {
    return function + "/threads:" + std::to_string(run.threads) + "/" +
           (run.run_type == Run::RT_Aggregate ? run.aggregate_name : "");
  }

  const std::map<std::string, std::string> kFloorOf = {
      {"BM_GetResource_Server", "BM_GetResource_Floor"},
      {"BM_GetResourceMixed_Server", "BM_GetResource_Floor"},
      {"BM_FeedArchivePage_Server", "BM_FeedPage_Floor"},
      {"BM_FeedRecentPage_Server", "BM_FeedPage_Floor"}};
  std::map<std::string, double> rates_;
  std::vector<Ratio> ratios_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  Fixture& f = GetFixture();
  f.server->Stop();
  std::filesystem::remove_all(f.dir);
  return 0;
}
