// Push throughput (issue 6): 10,000 local changes pushed from a child store
// to a parent over 127.0.0.1, batched (the default push.batch_size, 100)
// against one request per change (batch_size 1), in the same run.
//
// Parent: an in-process NodeServer (the FHIR API of a real node) over a
// SQLite store in a temporary folder. Child: a SQLite store holding 10,000
// new Patients (10,000 outbox items) and SyncPushService routing through
// the real fhir transport plugin (build/lib/fhirsync/plugins/fhirsync-fhir.so,
// found beside the program like `fhirsync` finds it). Every iteration starts
// from fresh stores; only the push is timed.
//
// Counters: `changes_per_second` for each mode, and in BM_PushRatio the
// batched/unbatched ratio measured back to back.
//
//   ./build/benchmarks/push_benchmark --benchmark_min_time=1x

#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "fhirsync/plugin_loader.h"
#include "fhirsync/sync_push_service.h"
#include "fhirsync/sync_resource_manager.h"

namespace {

namespace fs = std::filesystem;
using namespace fhirsync;

constexpr int kChanges = 10000;

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

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::cerr << "push_benchmark: " << what << ": " << status.ToString() << std::endl;
  std::exit(1);
}

// One push of kChanges changes with `batch_size`; returns the seconds the
// push took.
double PushOnce(int batch_size, std::int64_t* requests) {
  Scratch scratch;
  auto parent_store = OpenLocalStore(StoreConfig{}, scratch.Sub("parent"), "root");
  if (!parent_store.ok()) Die("parent store", parent_store.status());
  NodeConfig parent_config;
  parent_config.node_id = "root";
  parent_config.server.threads = 4;
  auto user = MakeUser("child", "pw", {"read", "write"});
  if (!user.ok()) Die("user", user.status());
  parent_config.server.users = {*user};
  NodeServer parent(parent_config, **parent_store);
  if (Status started = parent.Start(); !started.ok()) Die("parent server", started);

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
  auto imported = (*child)->Import(ops, {}, 1000);
  if (!imported.ok()) Die("child import", imported.status());

  auto plugin = LoadPlugin(DefaultPluginDir() + "/fhirsync-fhir.so");
  if (!plugin.ok()) Die("fhir plugin", plugin.status());
  TransportSettings settings;
  settings.node_id = "tablet";
  settings.base_url = parent.base_url();
  settings.auth_scheme = "basic";
  settings.user = "child";
  settings.password = "pw";
  settings.options["capability_statement"] = "ignore";
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
    Die("push", InternalError("sent " + std::to_string(report->sent) + " of " +
                              std::to_string(kChanges)));
  }
  *requests = report->requests;
  return seconds;
}

void BM_PushRatio(benchmark::State& state) {
  double batched_seconds = 0;
  double single_seconds = 0;
  std::int64_t batched_requests = 0;
  std::int64_t single_requests = 0;
  for (auto _ : state) {
    batched_seconds += PushOnce(PushConfig{}.batch_size, &batched_requests);
    single_seconds += PushOnce(1, &single_requests);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["batched_changes_per_second"] = kChanges * n / batched_seconds;
  state.counters["single_changes_per_second"] = kChanges * n / single_seconds;
  state.counters["batched_over_single"] = single_seconds / batched_seconds;
  state.counters["batched_requests"] = static_cast<double>(batched_requests);
  state.counters["single_requests"] = static_cast<double>(single_requests);
}
BENCHMARK(BM_PushRatio)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
