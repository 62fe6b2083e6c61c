// Integration: `cmake --install` gives what an implementer needs. Installs
// the fhirsync_dev component into a temporary prefix, builds a copy of
// plugins/example out of tree with find_package(fhirsync), loads the result
// with the loader, and builds and runs a small out-of-tree host program that
// links fhirsync::framework and loads the same plugin.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fhirsync/plugin/abi.h"
#include "fhirsync/plugin_loader.h"
#include "temp_dir.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;

std::string Quote(const std::string& text) { return "'" + text + "'"; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` with its output in `log`; on failure the output is in the
// test's message.
::testing::AssertionResult RunCommand(const std::string& command, const std::string& log) {
  int rc = std::system((command + " >" + Quote(log) + " 2>&1").c_str());
  if (rc == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << command << " exited with " << rc << ":\n"
                                       << ReadAll(log);
}

constexpr char kHostCMake[] = R"(cmake_minimum_required(VERSION 3.25)
project(fhirsync_host_check LANGUAGES CXX)
find_package(fhirsync 0.1 REQUIRED)
add_executable(host_check main.cc)
target_link_libraries(host_check PRIVATE fhirsync::framework)
)";

constexpr char kHostMain[] = R"(#include <iostream>
#include "fhirsync/plugin_loader.h"
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  fhirsync::StatusOr<fhirsync::LoadedPlugin> plugin = fhirsync::LoadPlugin(argv[1]);
  if (!plugin.ok()) {
    std::cerr << plugin.status() << "\n";
    return 1;
  }
  std::cout << "loaded " << plugin->info.name << " " << plugin->info.version << "\n";
  return 0;
}
)";

TEST(InstallTest, OutOfTreePluginBuildsWithFindPackageAndLoads) {
  testing::TempDir work;
  const std::string cmake = Quote(FHIRSYNC_CMAKE_COMMAND);
  const std::string prefix = work.File("prefix");
  const std::string configure_flags =
      " -G " + Quote(FHIRSYNC_CMAKE_GENERATOR) + " -DCMAKE_BUILD_TYPE=Release" +
      " -DCMAKE_CXX_COMPILER=" + Quote(FHIRSYNC_CXX_COMPILER) +
      " -DCMAKE_PREFIX_PATH=" + Quote(prefix);

  ASSERT_TRUE(RunCommand(cmake + " --install " + Quote(FHIRSYNC_BUILD_DIR) +
                      " --component fhirsync_dev --prefix " + Quote(prefix),
                  work.File("install.log")));
  for (const char* file :
       {"include/fhirsync/plugin/declare_plugin.h", "include/fhirsync/plugin/abi.h",
        "include/fhirsync/plugin/transport_plugin.h", "include/fhirsync/status.h",
        "include/fhirsync/sync_resource_manager.h", "lib/libfhirsync.a",
        "lib/cmake/fhirsync/fhirsyncConfig.cmake",
        "lib/cmake/fhirsync/fhirsyncConfigVersion.cmake",
        "lib/cmake/fhirsync/fhirsyncTargets.cmake"}) {
    EXPECT_TRUE(fs::exists(prefix + "/" + file)) << file << " not installed";
  }

  // The plugin: an exact copy of plugins/example, built on its own.
  const std::string source = work.File("folder-plugin");
  fs::copy(FHIRSYNC_EXAMPLE_SOURCE_DIR, source, fs::copy_options::recursive);
  const std::string build = work.File("folder-plugin-build");
  ASSERT_TRUE(RunCommand(cmake + " -S " + Quote(source) + " -B " + Quote(build) + configure_flags,
                  work.File("plugin-configure.log")));
  ASSERT_TRUE(RunCommand(cmake + " --build " + Quote(build) + " --parallel 2",
                  work.File("plugin-build.log")));
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

  // A host application linking the installed static framework.
  const std::string host = work.File("host");
  fs::create_directories(host);
  testing::WriteTextFile(host + "/CMakeLists.txt", kHostCMake);
  testing::WriteTextFile(host + "/main.cc", kHostMain);
  const std::string host_build = work.File("host-build");
  ASSERT_TRUE(RunCommand(cmake + " -S " + Quote(host) + " -B " + Quote(host_build) + configure_flags,
                  work.File("host-configure.log")));
  ASSERT_TRUE(RunCommand(cmake + " --build " + Quote(host_build) + " --parallel 2",
                  work.File("host-build.log")));
  ASSERT_TRUE(RunCommand(Quote(host_build + "/host_check") + " " + Quote(module), work.File("host.log")));
  EXPECT_EQ(ReadAll(work.File("host.log")), "loaded folder 1.0.0\n");
}

}  // namespace
}  // namespace fhirsync
