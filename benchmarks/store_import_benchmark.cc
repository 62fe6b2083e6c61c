// Import speed of the LocalStore backends.
//
// Data: ../shared/testdata/fhir-r4-bulk (5,945 FHIR R4 resources of 10
// Synthea patients) and a x10 set derived from it in memory: every resource
// copied ten times with the id suffixed "-0".."-9" (references inside the
// bodies are left as they are).
//
// Each backend imports into a fresh store (SQLite file in a temporary
// folder; a fresh PostgreSQL schema). The floor is the same bodies inserted
// into a bare SQLite table (type, id, body) by a plain sqlite3 loop in one
// transaction, with the same page size, WAL and synchronous=FULL settings:
// the cost of getting the bytes into the file, with none of the store's work
// (parse, stamp, hash, version lookup, change and outbox rows). The floor
// writes through SQLite's default VFS, as a plain program would; the
// store's write connection gathers its WAL writes into large ones
// (store/wal_write_buffer.h), which is part of what is measured.
//
// Both SQLite timings end with the database closed, so each pays for all of
// its work. The WAL is copied into the database file (a checkpoint) only
// once it holds more pages than a threshold: the floor's one large commit
// always does so itself, while the store copies in the background from
// 1024 pages and leaves what is left at the end for the close (or a later
// write). Timing the store without its close compared a store that had not
// yet copied its data with a floor that had (the published figures before
// 2026-11-22).
//
// Batch sizes: 1,000 and 10,000 resources per transaction, and 100,000 (each
// set in one transaction, as the floor writes it).
//
// PostgreSQL: the connection string is read from FHIRSYNC_BENCH_PG_CONNECTION;
// if unset the benchmark starts its own cluster with tests/store/pg_cluster.sh
// (fsync on) and removes it at exit.
//
// Counter `resources_per_second` (wall clock) is the figure; the
// summary printed at the end gives each SQLite import as a percentage of the
// floor of the same set (medians with --benchmark_repetitions; add
// --benchmark_enable_random_interleaving=true so that the repetitions of the
// imports and of the floor alternate, and a slow spell of a shared machine
// falls on both).
// `resources_per_cpu_second` (the CPU time of the whole benchmark process,
// every thread: the import prepares the next batch on a second thread; for
// PostgreSQL the client side only) is steadier on a shared machine.

#include <benchmark/benchmark.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <Poco/Data/Session.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"
#include "support/postgres_server.h"

namespace {

namespace fs = std::filesystem;
using fhirsync::WriteOp;
using fhirsync::bench::PostgresServer;

std::vector<WriteOp> LoadBulk() {
  std::vector<WriteOp> ops;
  const fs::path dir = fs::path(FHIRSYNC_TESTDATA_DIR) / "fhir-r4-bulk";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".ndjson") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto info = fhirsync::InspectFhirBody(line);
      if (!info.ok()) throw std::runtime_error(file.string() + ": " + info.status().ToString());
      WriteOp op;
      op.type = info->resource_type;
      op.id = info->id;
      op.body = line;
      ops.push_back(std::move(op));
    }
  }
  return ops;
}

// Ten copies with new ids; the body's own id is rewritten to match.
std::vector<WriteOp> TimesTen(const std::vector<WriteOp>& bulk) {
  std::vector<WriteOp> ops;
  ops.reserve(bulk.size() * 10);
  for (int k = 0; k < 10; ++k) {
    for (const WriteOp& original : bulk) {
      WriteOp op = original;
      op.id = original.id + "-" + std::to_string(k);
      rapidjson::Document doc;
      doc.Parse(original.body.data(), original.body.size());
      doc["id"].SetString(op.id.data(), static_cast<rapidjson::SizeType>(op.id.size()),
                          doc.GetAllocator());
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      doc.Accept(writer);
      op.body.assign(buffer.GetString(), buffer.GetSize());
      ops.push_back(std::move(op));
    }
  }
  return ops;
}

const std::vector<WriteOp>& DataSet(std::int64_t which) {
  static const std::vector<WriteOp>* const bulk = new std::vector<WriteOp>(LoadBulk());
  if (which == 1) return *bulk;
  static const std::vector<WriteOp>* const ten = new std::vector<WriteOp>(TimesTen(*bulk));
  return *ten;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fhirsync-bench.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// CPU seconds of this process (all threads): the machine running the
// benchmark may be shared, and wall-clock rates then measure the neighbours
// too.
double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// resources_per_second: by wall-clock time (the figure);
// resources_per_cpu_second: by the process's CPU time in the timed part.
void SetCounters(benchmark::State& state, std::size_t count, double cpu_seconds) {
  state.counters["resources"] = static_cast<double>(count);
  state.counters["resources_per_second"] =
      benchmark::Counter(static_cast<double>(count), benchmark::Counter::kIsIterationInvariantRate);
  if (cpu_seconds > 0) {
    state.counters["resources_per_cpu_second"] =
        static_cast<double>(count) * static_cast<double>(state.iterations()) / cpu_seconds;
  }
}

// Args: {data set (1 = bulk, 10 = x10), batch size}.
void BM_SqliteImport(benchmark::State& state) {
  const std::vector<WriteOp>& ops = DataSet(state.range(0));
  double cpu_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    TempDir dir;
    fhirsync::StoreConfig config;
    config.path = dir.path() + "/store.sqlite";
    auto store = fhirsync::OpenLocalStore(config, "", "bench-node");
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    state.ResumeTiming();
    const double cpu_start = ProcessCpuSeconds();
    auto summary = (*store)->Import(ops, {}, static_cast<std::size_t>(state.range(1)));
    // Closed inside the timing, as the floor is: the last connection to
    // close copies what the WAL still holds into the database file, work
    // the import left for later (see the top of this file).
    store->reset();
    cpu_seconds += ProcessCpuSeconds() - cpu_start;
    if (!summary.ok() || summary->written != static_cast<std::int64_t>(ops.size())) {
      state.SkipWithError(summary.status().ToString().c_str());
      return;
    }
  }
  SetCounters(state, ops.size(), cpu_seconds);
}
BENCHMARK(BM_SqliteImport)
    ->ArgNames({"set", "batch"})
    ->Args({1, 1000})
    ->Args({10, 1000})
    ->Args({10, 10000})
    ->Args({1, 100000})
    ->Args({10, 100000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

// The page size of a new SQLite store file, read from one: the floor uses
// the same, so both pay the same per page.
int StorePageSize() {
  TempDir dir;
  fhirsync::StoreConfig config;
  config.path = dir.path() + "/store.sqlite";
  {
    auto store = fhirsync::OpenLocalStore(config, "", "bench-node");
    if (!store.ok()) throw std::runtime_error(store.status().ToString());
  }
  sqlite3* db = nullptr;
  Check(sqlite3_open(config.path.c_str(), &db), db, "open store");
  sqlite3_stmt* query = nullptr;
  Check(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &query, nullptr), db, "page_size");
  Check(sqlite3_step(query), db, "page_size");
  const int page_size = sqlite3_column_int(query, 0);
  sqlite3_finalize(query);
  sqlite3_close(db);
  return page_size;
}

// The floor: bare inserts, one transaction, same durability settings.
void BM_SqliteFloor(benchmark::State& state) {
  const std::vector<WriteOp>& ops = DataSet(state.range(0));
  double cpu_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    TempDir dir;
    sqlite3* db = nullptr;
    Check(sqlite3_open((dir.path() + "/floor.sqlite").c_str(), &db), db, "open");
    static const int page_size = StorePageSize();
    const std::string setup = "PRAGMA page_size=" + std::to_string(page_size) +
                              "; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                              " CREATE TABLE bodies (type TEXT NOT NULL, id TEXT NOT NULL,"
                              " body TEXT NOT NULL)";
    Check(sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr), db, "setup");
    state.ResumeTiming();
    const double cpu_start = ProcessCpuSeconds();
    sqlite3_stmt* insert = nullptr;
    Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
    Check(sqlite3_prepare_v2(db, "INSERT INTO bodies (type, id, body) VALUES (?, ?, ?)", -1,
                             &insert, nullptr),
          db, "prepare");
    for (const WriteOp& op : ops) {
      sqlite3_bind_text(insert, 1, op.type.data(), static_cast<int>(op.type.size()),
                        SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, op.id.data(), static_cast<int>(op.id.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, op.body.data(), static_cast<int>(op.body.size()),
                        SQLITE_STATIC);
      Check(sqlite3_step(insert), db, "insert");
      sqlite3_reset(insert);
    }
    sqlite3_finalize(insert);
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    Check(sqlite3_close(db), db, "close");
    cpu_seconds += ProcessCpuSeconds() - cpu_start;
  }
  SetCounters(state, ops.size(), cpu_seconds);
}
BENCHMARK(BM_SqliteFloor)
    ->ArgNames({"set"})
    ->Arg(1)
    ->Arg(10)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_PostgresImport(benchmark::State& state) {
  PostgresServer& server = PostgresServer::Get();
  if (server.connection().empty()) {
    state.SkipWithError(server.error().c_str());
    return;
  }
  const std::vector<WriteOp>& ops = DataSet(state.range(0));
  double cpu_seconds = 0;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string schema = "bench_" + std::to_string(getpid()) + "_" + std::to_string(round++);
    Poco::Data::Session admin(Poco::Data::PostgreSQL::Connector::KEY, server.connection());
    // The schema name is built here from numbers only.
    admin << "DROP SCHEMA IF EXISTS " + schema + " CASCADE", Poco::Data::Keywords::now;
    admin << "CREATE SCHEMA " + schema, Poco::Data::Keywords::now;
    fhirsync::StoreConfig config;
    config.backend = "postgresql";
    config.connection = server.connection() + " options=-csearch_path=" + schema;
    auto store = fhirsync::OpenLocalStore(config, "", "bench-node");
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    state.ResumeTiming();
    const double cpu_start = ProcessCpuSeconds();
    auto summary = (*store)->Import(ops, {}, static_cast<std::size_t>(state.range(1)));
    cpu_seconds += ProcessCpuSeconds() - cpu_start;
    if (!summary.ok() || summary->written != static_cast<std::int64_t>(ops.size())) {
      state.SkipWithError(summary.status().ToString().c_str());
      return;
    }
    state.PauseTiming();
    store->reset();
    admin << "DROP SCHEMA " + schema + " CASCADE", Poco::Data::Keywords::now;
    state.ResumeTiming();
  }
  SetCounters(state, ops.size(), cpu_seconds);
}
BENCHMARK(BM_PostgresImport)
    ->ArgNames({"set", "batch"})
    ->Args({1, 1000})
    ->Args({10, 1000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// Prints the usual table, then each SQLite import's rate as a percentage of
// the floor's for the same set (the figure the store is judged by): per run, or per median
// with --benchmark_repetitions. Needs the floor in the same invocation.
class FloorReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.repetitions > 1 ? !median : run.run_type != Run::RT_Iteration) continue;
      auto rate = run.counters.find("resources_per_second");
      if (rate == run.counters.end() || run.error_occurred) continue;
      const std::string& name = run.run_name.function_name;
      const std::string set = run.run_name.args.substr(0, run.run_name.args.find('/'));
      if (name == "BM_SqliteFloor") {
        floor_[set] = rate->second.value;
      } else if (name == "BM_SqliteImport") {
        imports_.push_back({run.run_name.args, set, rate->second.value});
      }
    }
  }
  void PrintRatios() const {
    if (imports_.empty()) return;
    std::cout << "\nSQLite import / floor (resources/s):\n";
    for (const Import& import : imports_) {
      auto floor = floor_.find(import.set);
      if (floor == floor_.end() || floor->second <= 0) {
        std::cout << "  " << import.args << ": no floor run for " << import.set << "\n";
        continue;
      }
      char line[160];
      std::snprintf(line, sizeof line, "  %-22s %9.0f vs floor %9.0f = %5.1f%%\n",
                    import.args.c_str(), import.rate, floor->second,
                    100.0 * import.rate / floor->second);
      std::cout << line;
    }
  }

 private:
  struct Import {
    std::string args;  // "set:10/batch:1000"
    std::string set;   // "set:10"
    double rate;
  };
  std::map<std::string, double> floor_;
  std::vector<Import> imports_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  FloorReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  PostgresServer::StopOwnCluster();
  return 0;
}
