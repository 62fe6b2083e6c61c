// Integration: `cmake --install` gives what an implementer needs. Installs
// the fhirsync_plugin_dev component alone into a temporary prefix (no
// fhirsync library at all), builds a copy of plugins/example out of tree with
// find_package(fhirsync COMPONENTS plugin_api) while Poco, PostgreSQL and
// SQLite cannot be found, loads the result with the loader; then installs
// fhirsync_dev beside it and builds and runs a small out-of-tree host program
// that links fhirsync::framework and loads the same plugin.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "fhirsync/plugin/abi.h"
#include "fhirsync/plugin_loader.h"
#include "support/subprocess.h"
#include "test_files.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

using ::fhirsync::testing::ProcessOptions;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;

// Runs `argv`; on failure the program's output is in the test's message.
// Builds get a generous deadline: the machine is shared.
::testing::AssertionResult Succeeds(const std::vector<std::string>& argv) {
  ProcessOptions options;
  options.timeout = std::chrono::minutes(5);
  ProcessResult r = RunProcess(argv, options);
  if (r.exit_code == 0) return ::testing::AssertionSuccess();
  std::string command;
  for (const std::string& word : argv) command += word + " ";
  return ::testing::AssertionFailure() << command << "ended with " << r.Describe() << ":\n"
                                       << r.out << r.err;
}

constexpr char kHostCMake[] = R"(cmake_minimum_required(VERSION 3.25)
project(fhirsync_host_check LANGUAGES CXX)
find_package(fhirsync 0.1 REQUIRED)
add_executable(host_check main.cc)
target_link_libraries(host_check PRIVATE fhirsync::framework)
)";

// Uses the store (Poco::Data, SQLite, OpenSSL) as well as the loader, so
// the link proves the package config brings every private dependency.
constexpr char kHostMain[] = R"(#include <iostream>
#include "fhirsync/local_store.h"
#include "fhirsync/plugin_loader.h"
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string dir = argv[2];
  fhirsync::StoreConfig store_config;
  auto store = fhirsync::OpenLocalStore(store_config, dir, "host-node");
  if (!store.ok()) { std::cerr << store.status() << "\n"; return 1; }
  fhirsync::WriteOp op;
  op.type = "Patient";
  op.id = "h1";
  op.body = R"j({"resourceType":"Patient","id":"h1"})j";
  auto written = (*store)->Put(op);
  if (!written.ok()) { std::cerr << written.status() << "\n"; return 1; }
  auto stored = (*store)->Get("Patient", "h1");
  if (!stored.ok()) { std::cerr << stored.status() << "\n"; return 1; }
  auto plugin = fhirsync::LoadPlugin(argv[1]);
  if (!plugin.ok()) { std::cerr << plugin.status() << "\n"; return 1; }
  fhirsync::TransportSettings settings;
  settings.options["dir"] = dir;
  fhirsync::Status configured = plugin->transport->Configure(settings);
  if (!configured.ok()) { std::cerr << configured << "\n"; return 1; }
  fhirsync::RemoteResource remote;
  remote.type = stored->type;
  remote.id = stored->id;
  remote.body = stored->body;
  fhirsync::RemoteWriteResult sent = plugin->transport->Create(remote);
  if (!sent.status.ok()) { std::cerr << sent.status << "\n"; return 1; }
  std::cout << "loaded " << plugin->info.name << " " << plugin->info.version << "; sent "
            << stored->Key() << " v" << stored->version << " as remote version " << sent.version
            << "\n";
  return 0;
}
)";

TEST(InstallTest, OutOfTreePluginBuildsWithFindPackageAndLoads) {
  testing::TempDir work("fhirsync-install");
  const std::string cmake = FHIRSYNC_CMAKE_COMMAND;
  const std::string prefix = work.Sub("prefix");
  auto configure = [&](const std::string& source, const std::string& build) {
    return std::vector<std::string>{cmake,
                                    "-S",
                                    source,
                                    "-B",
                                    build,
                                    "-G",
                                    FHIRSYNC_CMAKE_GENERATOR,
                                    "-DCMAKE_BUILD_TYPE=Release",
                                    std::string("-DCMAKE_CXX_COMPILER=") + FHIRSYNC_CXX_COMPILER,
                                    std::string("-DCMAKE_CXX_FLAGS=") + FHIRSYNC_SDK_USER_FLAGS,
                                    "-DCMAKE_PREFIX_PATH=" + prefix};
  };

  // The plugin SDK alone: headers and the package config, no library.
  ASSERT_TRUE(Succeeds({cmake, "--install", FHIRSYNC_BUILD_DIR, "--component",
                        "fhirsync_plugin_dev", "--prefix", prefix}));
  for (const char* file :
       {"include/fhirsync/plugin/declare_plugin.h", "include/fhirsync/plugin/abi.h",
        "include/fhirsync/plugin/transport_plugin.h", "include/fhirsync/status.h",
        "include/fhirsync/http_status.h", "include/fhirsync/resource_format.h",
        "lib/cmake/fhirsync/fhirsyncConfig.cmake",
        "lib/cmake/fhirsync/fhirsyncConfigVersion.cmake",
        "lib/cmake/fhirsync/fhirsyncPluginApiTargets.cmake"}) {
    EXPECT_TRUE(fs::exists(prefix + "/" + file)) << file << " not installed";
  }
  for (const auto& entry : fs::recursive_directory_iterator(prefix)) {
    EXPECT_NE(entry.path().extension(), ".a") << entry.path() << " installed with the plugin SDK";
    EXPECT_NE(entry.path().extension(), ".so") << entry.path() << " installed with the plugin SDK";
  }
  EXPECT_FALSE(fs::exists(prefix + "/include/fhirsync/sync_resource_manager.h"));

  // The plugin: an exact copy of plugins/example, built on its own against
  // the plugin SDK. Database clients (and the rest of Poco) are made
  // unfindable: asking for the plugin_api component must not look for them.
  // plugin_api links the module with --no-undefined, so the build also
  // proves that Status, StatusOr and the error factories the example uses
  // need no fhirsync library.
  const std::string source = work.Sub("folder-plugin");
  fs::copy(FHIRSYNC_EXAMPLE_SOURCE_DIR, source, fs::copy_options::recursive);
  const std::string build = work.Sub("folder-plugin-build");
  std::vector<std::string> plugin_configure = configure(source, build);
  for (const char* package : {"Poco", "PostgreSQL", "SQLite3", "Boost", "OpenSSL", "LibXml2"}) {
    plugin_configure.push_back(std::string("-DCMAKE_DISABLE_FIND_PACKAGE_") + package + "=ON");
  }
  ASSERT_TRUE(Succeeds(plugin_configure));
  ASSERT_TRUE(Succeeds({cmake, "--build", build, "--parallel", "2"}));
  const std::string module = build + "/fhirsync-folder.so";
  ASSERT_TRUE(fs::exists(module));

  StatusOr<LoadedPlugin> loaded = LoadPlugin(module);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.name, "folder");
  EXPECT_EQ(loaded->info.toolchain, HostToolchainId());
  TransportSettings settings;
  settings.options["dir"] = work.path();
  ASSERT_TRUE(loaded->transport->Configure(settings).ok());
  RemoteResource patient;
  patient.type = "Patient";
  patient.id = "out-of-tree";
  patient.body = R"({"resourceType":"Patient","id":"out-of-tree"})";
  RemoteWriteResult written = loaded->transport->Create(patient);
  ASSERT_TRUE(written.status.ok()) << written.status;
  ChangePage page = loaded->transport->ReadChanges("", 10);
  ASSERT_TRUE(page.status.ok()) << page.status;
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].resource.body, patient.body);
  // Made by the header-only NotFoundError inside the module.
  ReadResult missing = loaded->transport->Read("Patient", "not-there");
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound) << missing.status;
  EXPECT_EQ(missing.status.message(), "Patient/not-there is not in the folder");

  // The framework for host applications, installed beside the plugin SDK.
  ASSERT_TRUE(Succeeds({cmake, "--install", FHIRSYNC_BUILD_DIR, "--component", "fhirsync_dev",
                        "--prefix", prefix}));
  for (const char* file : {"include/fhirsync/sync_resource_manager.h", "lib/libfhirsync.a",
                           "lib/cmake/fhirsync/fhirsyncTargets.cmake"}) {
    EXPECT_TRUE(fs::exists(prefix + "/" + file)) << file << " not installed";
  }

  // A host application linking the installed static framework.
  const std::string host = work.Sub("host");
  fs::create_directories(host);
  testing::WriteTextFile(host + "/CMakeLists.txt", kHostCMake);
  testing::WriteTextFile(host + "/main.cc", kHostMain);
  const std::string host_build = work.Sub("host-build");
  ASSERT_TRUE(Succeeds(configure(host, host_build)));
  ASSERT_TRUE(Succeeds({cmake, "--build", host_build, "--parallel", "2"}));
  const std::string host_node = work.Sub("host-node");
  fs::create_directories(host_node);
  ProcessResult run = RunProcess({host_build + "/host_check", module, host_node});
  EXPECT_EQ(run.exit_code, 0) << run.Describe() << "\n" << run.err;
  EXPECT_EQ(run.out, "loaded folder 1.0.0; sent Patient/h1 v1 as remote version 1\n");
}

}  // namespace
}  // namespace fhirsync
