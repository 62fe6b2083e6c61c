// A district's morning: many children sync at once against one parent whose
// store is PostgreSQL and which is served by two `fhirsync serve` processes
// (half the children name one, half the other), all real processes on
// 127.0.0.1. What it shows is whether the parent holds the load: how many
// child syncs fail in each round, and whether every child converges.
//
// Setup (not timed): a fresh PostgreSQL database (the cluster of
// support/postgres_server.h) holding the parent, which imports the small
// types of ../shared/testdata/fhir-r4-bulk (kTypes: 374 resources); one
// write user, `tablet`, that every child signs in as; N child folders
// (SQLite), each subscribed to kTypes and holding 2 Patients of its own
// not yet pushed. server.max_connections_per_address is raised to 4 N: on
// loopback all children share one address.
// Timed: round 1, every child runs `fhirsync sync --once` at the same
// moment (push its 2 Patients, pull everything); round 2, the same again
// (the Patients the others pushed). Then each child's live count is
// compared with the parent's.
//
// Counters: children; failed_round1 and failed_round2 (child syncs that
// exited non-zero; the first distinct errors are printed to stderr);
// round1_s, round2_s (wall clock from the first start to the last exit);
// converged (children whose live count equals the parent's after round 2);
// parent_live (the parent's live count, 374 + 2 per child).
//
// Run:
//   build/benchmarks/district_benchmark
//   build/benchmarks/district_benchmark --benchmark_filter=children:200
// One iteration per run: a round changes the state it measures.

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/postgres_server.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using fhirsync::bench::PostgresServer;
using fhirsync::testing::ProcessOptions;
using fhirsync::testing::ProcessResult;
using fhirsync::testing::RunProcess;
using fhirsync::testing::ServeProcess;
using fhirsync::testing::TempDir;

const std::string kBinary = FHIRSYNC_BINARY;
const std::vector<std::string> kTypes = {"Patient",       "Organization",     "Practitioner",
                                         "PractitionerRole", "Location",      "AllergyIntolerance",
                                         "Immunization",  "Device"};
constexpr char kPassword[] = "district-morning";

ProcessResult Fhirsync(std::vector<std::string> args, const ProcessOptions& options = {}) {
  args.insert(args.begin(), kBinary);
  return RunProcess(args, options);
}

// Runs `fhirsync args` and stops the benchmark with its error when it fails.
bool MustRun(benchmark::State& state, std::vector<std::string> args,
             const ProcessOptions& options = {}) {
  ProcessResult r = Fhirsync(args, options);
  if (r.exit_code == 0) return true;
  state.SkipWithError(("fhirsync " + args[0] + " failed: " + r.err).c_str());
  return false;
}

std::int64_t LiveCount(const std::string& dir) {
  ProcessResult r = Fhirsync({"stats", "--dir", dir, "--json"});
  if (r.exit_code != 0) return -1;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  if (doc.HasParseError() || !doc.HasMember("live")) return -1;
  return doc["live"].GetInt64();
}

// A database of its own for each run, so that runs do not see each other.
std::string FreshDatabase(const std::string& connection, int run) {
  const std::string name = "fhirsync_district_" + std::to_string(::getpid()) + "_" +
                           std::to_string(run);
  Poco::Data::Session session("PostgreSQL", connection);
  session << "CREATE DATABASE " + name, Poco::Data::Keywords::now;
  return std::regex_replace(connection, std::regex("dbname=\\S+"), "dbname=" + name);
}

// Runs `fn(i)` for i in [0, n) on `threads` threads.
template <typename Fn>
void ForEach(int n, int threads, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

struct Round {
  int failed = 0;
  double seconds = 0;
  std::vector<std::string> errors;  // distinct, first few
};

// Every child's `sync --once`, all started together.
Round SyncAll(const std::vector<std::string>& children) {
  Round round;
  std::mutex mutex;
  std::set<std::string> seen;
  const auto start = std::chrono::steady_clock::now();
  ProcessOptions options;
  options.timeout = std::chrono::minutes(10);
  ForEach(static_cast<int>(children.size()), static_cast<int>(children.size()), [&](int i) {
    ProcessResult r = Fhirsync({"sync", "--dir", children[i], "--once"}, options);
    if (r.exit_code == 0) return;
    std::lock_guard<std::mutex> lock(mutex);
    ++round.failed;
    std::string first_line = r.timed_out ? "timed out" : r.err.substr(0, r.err.find('\n'));
    // The same error from different children differs only in numbers.
    std::string shape = std::regex_replace(first_line, std::regex("[0-9]+"), "N");
    if (seen.insert(shape).second && round.errors.size() < 5) round.errors.push_back(first_line);
  });
  round.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return round;
}

void BM_DistrictMorning(benchmark::State& state) {
  static int run = 0;
  const int children_count = static_cast<int>(state.range(0));
  PostgresServer& postgres = PostgresServer::Get();
  if (!postgres.error().empty()) {
    state.SkipWithError(postgres.error().c_str());
    return;
  }
  TempDir tmp("fhirsync-district");
  const std::string parent = tmp.Sub("parent");
  const std::string data = std::string(FHIRSYNC_TESTDATA_DIR) + "/fhir-r4-bulk";
  std::string types;
  std::vector<std::string> import = {"import", "--dir", parent};
  for (const std::string& type : kTypes) {
    types += (types.empty() ? "" : ",") + type;
    import.push_back(data + "/" + type + ".000.ndjson");
  }
  std::string connection;
  try {
    connection = FreshDatabase(postgres.connection(), ++run);
  } catch (const Poco::Exception& error) {
    state.SkipWithError(("CREATE DATABASE: " + error.displayText()).c_str());
    return;
  }
  if (!MustRun(state, {"init", "--dir", parent, "--node-id", "district", "--backend",
                       "postgresql", "--connection", connection}) ||
      !MustRun(state, import)) {
    return;
  }
  // On 127.0.0.1 every child comes from one address, as tablets in the
  // field do not (unless behind one NAT): the per-address cap is raised
  // past N so that it is the server's capacity that is measured.
  if (!MustRun(state, {"config", "set", "--dir", parent, "server.max_connections_per_address",
                       std::to_string(children_count * 4)})) {
    return;
  }
  ProcessOptions password;
  password.stdin_data = std::string(kPassword) + "\n";
  if (!MustRun(state, {"user", "add", "tablet", "--role", "read,write", "--dir", parent},
               password)) {
    return;
  }
  ServeProcess serve_a(kBinary, parent);
  ServeProcess serve_b(kBinary, parent);
  if (!serve_a.Start() || !serve_b.Start()) {
    state.SkipWithError(("serve: " + serve_a.error() + serve_b.error()).c_str());
    return;
  }

  std::vector<std::string> children(children_count);
  std::atomic<bool> setup_ok{true};
  std::string setup_error;
  std::mutex setup_mutex;
  ForEach(children_count, 2, [&](int i) {
    children[i] = tmp.Sub("tablet-" + std::to_string(i));
    const std::string url = (i % 2 == 0 ? serve_a : serve_b).url();
    const std::string body_file = children[i] + ".json";
    ProcessResult init = Fhirsync({"init", "--dir", children[i], "--node-id",
                                   "tablet-" + std::to_string(i), "--parent", url,
                                   "--parent-user", "tablet", "--types", types},
                                  password);
    std::string failure = init.exit_code == 0 ? "" : "init: " + init.err;
    for (int p = 0; p < 2 && failure.empty(); ++p) {
      std::ofstream(body_file) << R"({"resourceType":"Patient","id":"tablet-)" << i << "-p" << p
                               << R"(","active":true})";
      ProcessResult put = Fhirsync({"put", "--dir", children[i], body_file});
      if (put.exit_code != 0) failure = "put: " + put.err;
    }
    if (!failure.empty()) {
      std::lock_guard<std::mutex> lock(setup_mutex);
      setup_ok = false;
      setup_error = failure;
    }
  });
  if (!setup_ok) {
    state.SkipWithError(setup_error.c_str());
    return;
  }

  Round first, second;
  for (auto _ : state) {
    first = SyncAll(children);
    second = SyncAll(children);
  }
  const std::int64_t parent_live = LiveCount(parent);
  std::atomic<int> converged{0};
  ForEach(children_count, 2, [&](int i) {
    if (LiveCount(children[i]) == parent_live) ++converged;
  });
  for (const auto& [name, round] : {std::pair{"round 1", &first}, std::pair{"round 2", &second}}) {
    for (const std::string& error : round->errors) {
      std::cerr << "district_benchmark: " << name << ": a child failed: " << error << '\n';
    }
  }
  state.counters["children"] = children_count;
  state.counters["failed_round1"] = first.failed;
  state.counters["failed_round2"] = second.failed;
  state.counters["round1_s"] = first.seconds;
  state.counters["round2_s"] = second.seconds;
  state.counters["converged"] = converged.load();
  state.counters["parent_live"] = static_cast<double>(parent_live);
}
BENCHMARK(BM_DistrictMorning)
    ->ArgNames({"children"})
    ->Arg(24)
    ->Arg(200)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  PostgresServer::StopOwnCluster();
  return 0;
}
