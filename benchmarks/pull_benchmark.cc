// Pull speed and child memory.
//
// A parent PROCESS (`fhirsync serve`) holds ../shared/testdata/fhir-r4-bulk
// (x1: 5,945 FHIR R4 resources) or a x10 set derived from it by this program
// (59,450 resources: every resource copied ten times with its id suffixed
// "-x0".."-x9"; references inside bodies are left as they are). A fresh
// child (`fhirsync init --parent`) pulls everything with `fhirsync sync
// --pull --once` as a subprocess over 127.0.0.1; the benchmark times it and
// reads the child's peak resident memory (VmHWM, sampled while it runs).
//
//   BM_Pull/x1/batched       pull.batch_size 100, pull.in_flight 4 (defaults)
//   BM_Pull/x1/one_get       pull.batch_size 1, pull.in_flight 1: one GET per
//                            feed event, serial (how OpenMRS Sync 2.0 pulls)
//   BM_Pull/x10/batched      the x10 set, defaults
// Counters: resources_per_second, child_peak_rss_mb; the last benchmark also
// prints speedup_vs_one_get (x1 batched / x1 one_get) and
// memory_ratio_x10_vs_x1 (x10 batched / x1 batched peak memory).
//
// Goals: speedup >= 10, memory ratio <= 1.2.

#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/config.h"
#include "support/subprocess.h"

namespace {

namespace fs = std::filesystem;

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kTestData = FHIRSYNC_TESTDATA_DIR;
constexpr char kUser[] = "bench-child";
constexpr char kPassword[] = "bench-password";

struct Run {
  int exit_code = -1;
  double seconds = 0;
  long peak_rss_kb = 0;
  std::string out;
};

// Runs `argv` with `input` on stdin and waits for it. The peak memory is the
// program's own VmHWM, sampled while it runs (ChildProcess::Wait): wait4's
// ru_maxrss would also count the pages of this process that the child
// shared between fork and exec.
Run Execute(const std::vector<std::string>& argv, const std::string& input = "") {
  fhirsync::testing::ChildProcess child;
  fhirsync::testing::ProcessOptions options;
  options.stdin_data = input;
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  if (!child.Start(argv, options, &error)) throw std::runtime_error(error);
  fhirsync::testing::ProcessResult result = child.Wait(std::chrono::minutes(30));
  Run run;
  run.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = result.exit_code;
  run.peak_rss_kb = result.peak_resident_kb;
  run.out = result.out + result.err;
  return run;
}

void Must(const Run& run, const std::string& what) {
  if (run.exit_code != 0) throw std::runtime_error(what + " failed: " + run.out);
}

class ParentProcess {
 public:
  ParentProcess(const fs::path& dir, int copies) : dir_(dir.string()) {
    Must(Execute({kBinary, "init", "--dir", dir_, "--node-id", "bench-parent"}), "init parent");
    Must(Execute({kBinary, "user", "add", kUser, "--role", "read,write", "--dir", dir_},
                 std::string(kPassword) + "\n"),
         "user add");
    std::vector<std::string> import{kBinary, "import"};
    const fs::path data = dir / "data";
    fs::create_directories(data);
    for (const auto& entry : fs::directory_iterator(kTestData + "/fhir-r4-bulk")) {
      if (entry.path().extension() != ".ndjson") continue;
      if (copies == 1) {
        import.push_back(entry.path().string());
        continue;
      }
      // Derived: each line ten times, its "id" suffixed.
      const fs::path out_file = data / entry.path().filename();
      std::ifstream in(entry.path());
      std::ofstream out(out_file);
      std::string line;
      while (std::getline(in, line)) {
        const std::string key = "\"id\":\"";
        const std::size_t at = line.find(key);
        if (at == std::string::npos) continue;
        const std::size_t end = line.find('"', at + key.size());
        for (int k = 0; k < copies; ++k) {
          out << line.substr(0, end) << "-x" << k << line.substr(end) << '\n';
        }
      }
      import.push_back(out_file.string());
    }
    import.insert(import.end(), {"--dir", dir_});
    Must(Execute(import), "import");
    pid_ = fork();
    if (pid_ == 0) {
      const std::string out = dir_ + "/serve.out";
      FILE* f = std::fopen(out.c_str(), "w");
      if (f) dup2(fileno(f), 1);
      execl(kBinary.c_str(), kBinary.c_str(), "serve", "--dir", dir_.c_str(), "--bind",
            "127.0.0.1", "--port", "0", static_cast<char*>(nullptr));
      _exit(127);
    }
    const std::string prefix = "listening on http://127.0.0.1:";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(dir_ + "/serve.out");
      std::string text((std::istreambuf_iterator<char>(in)), {});
      const std::size_t at = text.find(prefix);
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        url_ = "http://127.0.0.1:" + std::to_string(std::stoi(text.substr(at + prefix.size())));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("the parent did not start");
  }
  ~ParentProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& url() const { return url_; }

 private:
  std::string dir_;
  std::string url_;
  pid_t pid_ = -1;
};

struct Fixture {
  fs::path root;
  std::unique_ptr<ParentProcess> x1;
  std::unique_ptr<ParentProcess> x10;
  std::map<std::string, Run> results;
  int child_count = 0;

  Fixture() {
    root = fs::temp_directory_path() / ("fhirsync-pull-bench-" + std::to_string(getpid()));
    fs::create_directories(root);
    x1 = std::make_unique<ParentProcess>(root / "parent-x1", 1);
    x10 = std::make_unique<ParentProcess>(root / "parent-x10", 10);
  }
  ~Fixture() {
    x1.reset();
    x10.reset();
    std::error_code ec;
    fs::remove_all(root, ec);
  }

  Run PullInto(const ParentProcess& parent, int batch, int in_flight) {
    const std::string dir = (root / ("child-" + std::to_string(++child_count))).string();
    Must(Execute({kBinary, "init", "--dir", dir, "--node-id", "bench-child-" +
                  std::to_string(child_count), "--parent", parent.url(), "--parent-user", kUser},
                 std::string(kPassword) + "\n"),
         "init child");
    auto config = fhirsync::LoadNodeConfig(dir);
    if (!config.ok()) throw std::runtime_error(config.status().ToString());
    config->pull.batch_size = batch;
    config->pull.in_flight = in_flight;
    if (!fhirsync::SaveNodeConfig(dir, *config).ok()) throw std::runtime_error("save config");
    Run run = Execute({kBinary, "sync", "--dir", dir, "--pull", "--once", "--json"});
    Must(run, "pull");
    std::error_code ec;
    fs::remove_all(dir, ec);
    return run;
  }
};

Fixture* g_fixture = nullptr;  // made by the first benchmark that runs

Fixture& Shared() {
  if (g_fixture == nullptr) g_fixture = new Fixture();
  return *g_fixture;
}

void BM_Pull(benchmark::State& state, const std::string& set, int batch, int in_flight,
             const std::string& name) {
  Fixture& fixture = Shared();
  const ParentProcess& parent = set == "x1" ? *fixture.x1 : *fixture.x10;
  const double resources = set == "x1" ? 5945 : 59450;
  Run run;
  for (auto _ : state) {
    run = fixture.PullInto(parent, batch, in_flight);
    state.SetIterationTime(run.seconds);
  }
  fixture.results[name] = run;
  state.counters["resources_per_second"] = resources / run.seconds;
  state.counters["child_peak_rss_mb"] = static_cast<double>(run.peak_rss_kb) / 1024.0;
  state.counters["resources"] = resources;
  if (fixture.results.count("x1/batched") && fixture.results.count("x1/one_get")) {
    state.counters["speedup_vs_one_get"] =
        fixture.results["x1/one_get"].seconds / fixture.results["x1/batched"].seconds;
  }
  if (fixture.results.count("x1/batched") && fixture.results.count("x10/batched")) {
    state.counters["memory_ratio_x10_vs_x1"] =
        static_cast<double>(fixture.results["x10/batched"].peak_rss_kb) /
        static_cast<double>(fixture.results["x1/batched"].peak_rss_kb);
  }
}

}  // namespace

int main(int argc, char** argv) {
  struct Case {
    std::string set;
    int batch;
    int in_flight;
    std::string name;
  };
  for (const Case& c : {Case{"x1", 1, 1, "x1/one_get"}, Case{"x1", 100, 4, "x1/batched"},
                        Case{"x10", 100, 4, "x10/batched"}}) {
    benchmark::RegisterBenchmark(("BM_Pull/" + c.name).c_str(),
                                 [c](benchmark::State& state) {
                                   BM_Pull(state, c.set, c.batch, c.in_flight, c.name);
                                 })
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete g_fixture;  // stops the parents, removes the folders
  return 0;
}
