// Push throughput: 10,000 local changes pushed from a child to a
// parent PROCESS over 127.0.0.1, batched (the default push.batch_size, 500:
// one FHIR batch Bundle per round) against one request per change
// (batch_size 1), and both against the local import of the same 10,000
// resources into the child's store (LocalStore::Import, what `fhirsync
// import` runs), in the same run.
//
// Parent: a real `fhirsync serve` process (the program beside this one) over
// a SQLite store in a temporary folder, started fresh for each mode. Child: a
// SQLite store holding 10,000 new Patients (10,000 outbox items) and
// SyncPushService routing through the real fhir transport plugin
// (build/lib/fhirsync/plugins/fhirsync-fhir.so, found beside the program like
// `fhirsync` finds it), which reads the parent's CapabilityStatement and
// sends batch Bundles because it lists `batch`. Only the push is timed.
//
// Counters: `batched_changes_per_second`, `single_changes_per_second`,
// `import_changes_per_second`, the ratios `batched_over_single` and
// `batched_over_import`, and the round trips each push made
// (`batched_requests`, `single_requests`: HTTP requests, counted by the push
// service; a batched round is one POST of a Bundle). Three repetitions; the
// median row is the figure to quote.
//
// Goals: batched >= 10,000/s, batched_over_import >= 0.15,
// batched_over_single >= 15.
//
//   ./build/benchmarks/push_benchmark

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/plugin_loader.h"
#include "fhirsync/sync_push_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "support/serve_process.h"
#include "support/subprocess.h"

namespace {

namespace fs = std::filesystem;
using namespace fhirsync;

constexpr int kChanges = 10000;
constexpr char kUser[] = "bench-child";
constexpr char kPassword[] = "bench-password";

class Scratch {
 public:
  Scratch() {
    std::random_device random;
    path_ = fs::temp_directory_path() / ("fhirsync-push-bench-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string Sub(const std::string& name) const {
    fs::create_directories(path_ / name);
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

[[noreturn]] void Die(const std::string& what, const std::string& why) {
  std::cerr << "push_benchmark: " << what << ": " << why << std::endl;
  std::exit(1);
}
[[noreturn]] void Die(const std::string& what, const Status& status) {
  Die(what, status.ToString());
}

// A `fhirsync serve` process over a fresh node folder, stopped on scope exit.
class ParentProcess {
 public:
  explicit ParentProcess(const std::string& dir) : serve_(FHIRSYNC_BINARY, dir) {
    testing::ProcessResult init =
        testing::RunProcess({FHIRSYNC_BINARY, "init", "--dir", dir, "--node-id", "root"});
    if (init.exit_code != 0) Die("fhirsync init", init.err);
    auto config = LoadNodeConfig(dir);
    if (!config.ok()) Die("parent config", config.status());
    auto user = MakeUser(kUser, kPassword, {"read", "write"});
    if (!user.ok()) Die("user", user.status());
    config->server.users.push_back(*user);
    if (Status saved = SaveNodeConfig(dir, *config); !saved.ok()) Die("parent config", saved);
    if (!serve_.Start()) Die("fhirsync serve", serve_.error());
  }
  std::string url() const { return serve_.url(); }

 private:
  testing::ServeProcess serve_;
};

// One push of kChanges changes with `batch_size` to a fresh parent process;
// returns the seconds the push took, and in `import_seconds` those the
// child's import of the same changes took.
double PushOnce(int batch_size, std::int64_t* requests, double* import_seconds) {
  Scratch scratch;
  ParentProcess parent(scratch.Sub("parent"));

  auto child = OpenLocalStore(StoreConfig{}, scratch.Sub("child"), "tablet");
  if (!child.ok()) Die("child store", child.status());
  std::vector<WriteOp> ops(kChanges);
  for (int i = 0; i < kChanges; ++i) {
    ops[i].type = "Patient";
    ops[i].id = "p" + std::to_string(i);
    ops[i].body = R"({"resourceType":"Patient","id":"p)" + std::to_string(i) +
                  R"(","gender":"female","birthDate":"1980-01-01","name":[{"family":"Doe)" +
                  std::to_string(i) + R"(","given":["Jane"]}]})";
  }
  const auto import_start = std::chrono::steady_clock::now();
  auto imported = (*child)->Import(ops, {}, 1000);
  *import_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - import_start).count();
  if (!imported.ok()) Die("child import", imported.status());

  auto plugin = LoadPlugin(DefaultPluginDir() + "/fhirsync-fhir.so");
  if (!plugin.ok()) Die("fhir plugin", plugin.status());
  TransportSettings settings;
  settings.node_id = "tablet";
  settings.base_url = parent.url();
  settings.auth_scheme = "basic";
  settings.user = kUser;
  settings.password = kPassword;
  if (Status configured = plugin->transport->Configure(settings); !configured.ok()) {
    Die("configure the fhir plugin", configured);
  }
  std::vector<LoadedPlugin> plugins{*plugin};
  auto routes = SyncResourceManager::Create(std::move(plugins), {}, {});
  if (!routes.ok()) Die("routes", routes.status());

  PushOptions options;
  options.batch_size = batch_size;
  options.parent_node_id = "root";
  SyncPushService service(child->get(), routes->get(), options);
  const auto start = std::chrono::steady_clock::now();
  auto report = service.RunUntilIdle();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!report.ok()) Die("push", report.status());
  if (report->sent != kChanges) {
    Die("push", "sent " + std::to_string(report->sent) + " of " + std::to_string(kChanges));
  }
  *requests = report->requests;
  return seconds;
}

void BM_PushRatio(benchmark::State& state) {
  double batched_seconds = 0;
  double single_seconds = 0;
  double import_seconds = 0;
  std::int64_t batched_requests = 0;
  std::int64_t single_requests = 0;
  for (auto _ : state) {
    double imported = 0;
    batched_seconds += PushOnce(PushConfig{}.batch_size, &batched_requests, &imported);
    import_seconds += imported;
    single_seconds += PushOnce(1, &single_requests, &imported);
    import_seconds += imported;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["batched_changes_per_second"] = kChanges * n / batched_seconds;
  state.counters["single_changes_per_second"] = kChanges * n / single_seconds;
  state.counters["import_changes_per_second"] = 2 * kChanges * n / import_seconds;
  state.counters["batched_over_single"] = single_seconds / batched_seconds;
  state.counters["batched_over_import"] = (import_seconds / 2) / batched_seconds;
  state.counters["batched_requests"] = static_cast<double>(batched_requests);
  state.counters["single_requests"] = static_cast<double>(single_requests);
}
BENCHMARK(BM_PushRatio)->Unit(benchmark::kSecond)->Iterations(1)->Repetitions(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
