// The loader against real modules: plugins/testing/ (one broken module per
// refusal) and the folder transport (a good one).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fhirsync/plugin/abi.h"
#include "fhirsync/plugin_loader.h"
#include "test_files.h"

namespace fhirsync {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Testing(const std::string& name) {
  return std::string(FHIRSYNC_TESTING_PLUGIN_DIR) + "/testing-" + name + ".so";
}

Status LoadError(const std::string& file) {
  StatusOr<LoadedPlugin> loaded = LoadPlugin(file);
  EXPECT_FALSE(loaded.ok()) << file << " loaded";
  return loaded.ok() ? Status() : loaded.status();
}

TEST(LoaderTest, LoadsTheFolderPlugin) {
  StatusOr<LoadedPlugin> loaded = LoadPlugin(FHIRSYNC_FOLDER_PLUGIN);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->info.name, "folder");
  EXPECT_EQ(loaded->info.version, "1.0.0");
  EXPECT_EQ(loaded->info.file, FHIRSYNC_FOLDER_PLUGIN);
  EXPECT_EQ(loaded->info.abi_major, kPluginAbiMajor);
  EXPECT_EQ(loaded->info.abi_minor, kPluginAbiMinor);
  EXPECT_EQ(loaded->info.toolchain, HostToolchainId());
  ASSERT_NE(loaded->transport, nullptr);
  EXPECT_EQ(loaded->transport->GetCapabilities().resource_types,
            std::vector<std::string>{kAnyResourceType});
}

TEST(LoaderTest, ToolchainIdNamesCompilerLibraryAndStandard) {
  std::string id = HostToolchainId();
  // The compiler that built this test built the host too (the sanitized
  // build uses clang).
#if defined(__clang__)
  EXPECT_THAT(id, StartsWith("clang-"));
#else
  EXPECT_THAT(id, StartsWith("gcc-"));
#endif
  EXPECT_THAT(id, HasSubstr("/libstdc++-"));
  EXPECT_THAT(id, HasSubstr("/c++202002L"));
}

TEST(LoaderTest, MissingFile) {
  std::string file = std::string(FHIRSYNC_TESTING_PLUGIN_DIR) + "/no-such-plugin.so";
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kNotFound);
  EXPECT_EQ(error.message(), "plugin " + file + ": cannot open: no such file");
}

TEST(LoaderTest, FileThatIsNotALibrary) {
  testing::TempDir dir;
  std::string file = dir.Sub("fhirsync-text.so");
  testing::WriteTextFile(file, std::string(4096, '#'));  // long enough to have a header
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(error.message(), StartsWith("plugin " + file + ": cannot open: "));
  EXPECT_THAT(error.message(), HasSubstr("invalid ELF header"));
}

TEST(LoaderTest, ModuleWithUnresolvedSymbolWillNotOpen) {
  std::string file = Testing("unresolved_symbol");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(error.message(),
              AllOf(StartsWith("plugin " + file + ": cannot open: "),
                    HasSubstr("undefined symbol: fhirsync_testing_symbol_nobody_defines")));
}

TEST(LoaderTest, MissingEntrySymbol) {
  std::string file = Testing("no_entry");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file +
                                 ": no entry symbol 'fhirsync_plugin_descriptor' (not a fhirsync "
                                 "plugin, or FHIRSYNC_DECLARE_PLUGIN is missing)");
}

TEST(LoaderTest, DescriptorTooSmall) {
  std::string file = Testing("small_descriptor");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file + ": descriptor is 12 bytes, smaller than the " +
                                 std::to_string(sizeof(PluginDescriptor)) +
                                 " bytes of plugin ABI 1.0 (corrupt, or not a fhirsync plugin)");
}

TEST(LoaderTest, AnotherAbiMajor) {
  std::string file = Testing("abi_major");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file +
                                 ": built for plugin ABI major 2 (2.0), this host speaks major 1 "
                                 "(1.2); rebuild the plugin against this fhirsync");
}

TEST(LoaderTest, NewerAbiMinor) {
  std::string file = Testing("abi_minor");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file +
                                 ": built for plugin ABI 1.3, newer than this host's 1.2; upgrade "
                                 "fhirsync or rebuild the plugin against it");
}

TEST(LoaderTest, AnotherToolchain) {
  std::string file = Testing("toolchain");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file +
                                 ": built with toolchain 'msvc-1930/msvc-stl/c++201703L', this "
                                 "host with '" + HostToolchainId() +
                                 "'; rebuild the plugin with the host's compiler and standard "
                                 "library");
}

TEST(LoaderTest, CreateReturnsNull) {
  std::string file = Testing("create_null");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(),
            "plugin " + file + ": create returned no object: licence file missing");
}

TEST(LoaderTest, CreateThrows) {
  std::string file = Testing("create_throws");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file +
                                 ": create threw (no exception may cross the plugin boundary): "
                                 "database driver not found");
}

TEST(LoaderTest, ConstructorThrowsBecomesNullFromTheMacro) {
  std::string file = Testing("constructor_throws");
  Status error = LoadError(file);
  EXPECT_EQ(error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "plugin " + file +
                                 ": create returned no object: constructor threw: cannot reach "
                                 "the licence server");
}

TEST(LoaderTest, ExceptionsFromMethodsBecomeStatus) {
  StatusOr<LoadedPlugin> loaded = LoadPlugin(Testing("throws_on_call"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ReadResult read = loaded->transport->Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kInternal);
  EXPECT_EQ(read.status.message(), "Read threw: no row for Patient/p1");
  RemoteResource resource;
  resource.type = "Patient";
  resource.id = "p1";
  RemoteWriteResult created = loaded->transport->Create(resource);
  EXPECT_EQ(created.status.code(), StatusCode::kInternal);
  EXPECT_EQ(created.status.message(), "Create threw a non-standard exception");
  // WriteMany (ABI minor 1) is forwarded to the plugin and guarded too.
  WriteRequest write;
  write.resource = resource;
  std::vector<RemoteWriteResult> many = loaded->transport->WriteMany({write, write});
  ASSERT_EQ(many.size(), 2u);
  for (const RemoteWriteResult& result : many) {
    EXPECT_EQ(result.status.code(), StatusCode::kInternal);
    EXPECT_EQ(result.status.message(), "WriteMany threw: 2 writes are too many");
  }
  // An operation the plugin does not override says so.
  RemoteWriteResult deleted = loaded->transport->Delete("Patient", "p1", "1");
  EXPECT_EQ(deleted.status.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(deleted.status.message(), "this transport does not support delete");
}

TEST(LoaderTest, TransportOutlivesEverythingElseAndKeepsItsModule) {
  std::shared_ptr<TransportPlugin> transport;
  {
    StatusOr<LoadedPlugin> loaded = LoadPlugin(FHIRSYNC_FOLDER_PLUGIN);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    transport = loaded->transport;
  }
  // Only the transport is left; its code must still be there.
  testing::TempDir dir;
  TransportSettings settings;
  settings.options["dir"] = dir.path();
  ASSERT_TRUE(transport->Configure(settings).ok());
  EXPECT_EQ(transport->Read("Patient", "p1").status.code(), StatusCode::kNotFound);
  transport.reset();  // destroy runs in the module, then the module is released
}

// LoadConfiguredPlugins: names, optional plugins, Configure.

PluginsConfig FolderConfig(const std::string& name, bool optional) {
  PluginsConfig config;
  PluginSpec spec;
  spec.name = name;
  spec.file = FHIRSYNC_FOLDER_PLUGIN;
  spec.optional = optional;
  config.load.push_back(spec);
  return config;
}

TEST(LoadConfiguredPluginsTest, ConfiguresWithTheSpecsOptions) {
  testing::TempDir dir;
  PluginsConfig config = FolderConfig("folder", false);
  config.load[0].options["dir"] = dir.path();
  config.load[0].options["priority"] = "7";
  std::vector<std::string> warnings;
  auto plugins = LoadConfiguredPlugins(config, "/nonexistent", TransportSettings{}, &warnings);
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  ASSERT_EQ(plugins->size(), 1u);
  EXPECT_EQ((*plugins)[0].transport->GetCapabilities().priority, 7);
  EXPECT_TRUE(warnings.empty());
}

TEST(LoadConfiguredPluginsTest, RequiredPluginThatFailsToConfigureStopsStartUp) {
  PluginsConfig config = FolderConfig("folder", false);
  config.load[0].options["dir"] = "/nonexistent/stick";
  auto plugins = LoadConfiguredPlugins(config, "", TransportSettings{}, nullptr);
  ASSERT_FALSE(plugins.ok());
  EXPECT_EQ(plugins.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(plugins.status().message(),
            std::string("plugin 'folder' (") + FHIRSYNC_FOLDER_PLUGIN +
                "): configure failed: folder /nonexistent/stick does not exist (is the stick "
                "mounted?)");
}

TEST(LoadConfiguredPluginsTest, OptionalPluginIsSkippedWithAWarning) {
  PluginsConfig config;
  config.load.push_back({"abi", Testing("abi_major"), true, {}});
  std::vector<std::string> warnings;
  auto plugins = LoadConfiguredPlugins(config, "", TransportSettings{}, &warnings);
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  EXPECT_TRUE(plugins->empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], StartsWith("optional plugin 'abi' skipped: plugin " +
                                      Testing("abi_major") + ": built for plugin ABI major 2"));
}

TEST(LoadConfiguredPluginsTest, RequiredPluginThatWillNotLoadStopsStartUp) {
  PluginsConfig config;
  config.load.push_back({"abi", Testing("abi_major"), false, {}});
  auto plugins = LoadConfiguredPlugins(config, "", TransportSettings{}, nullptr);
  ASSERT_FALSE(plugins.ok());
  EXPECT_THAT(plugins.status().message(),
              StartsWith("plugin " + Testing("abi_major") + ": built for plugin ABI major 2"));
}

TEST(LoadConfiguredPluginsTest, NameMustMatchTheDescriptor) {
  testing::TempDir dir;
  PluginsConfig config = FolderConfig("usb", false);
  auto plugins = LoadConfiguredPlugins(config, "", TransportSettings{}, nullptr);
  ASSERT_FALSE(plugins.ok());
  EXPECT_EQ(plugins.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(plugins.status().message(),
            std::string("plugin ") + FHIRSYNC_FOLDER_PLUGIN +
                ": declares the name 'folder', but the config loads it as 'usb'");
}

TEST(LoadConfiguredPluginsTest, TwoSpecsWithOneName) {
  PluginsConfig config = FolderConfig("folder", false);
  config.load.push_back(config.load[0]);
  auto plugins = LoadConfiguredPlugins(config, "", TransportSettings{}, nullptr);
  ASSERT_FALSE(plugins.ok());
  EXPECT_EQ(plugins.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(plugins.status().message(), "plugins.load: two plugins are named 'folder'");
}

TEST(LoadConfiguredPluginsTest, DefaultDirIsBesideTheProgram) {
  // The test binary is the program here: build/tests/plugin/plugin_test.
  std::string program_dir = std::filesystem::canonical("/proc/self/exe").parent_path().string();
  std::string dir = DefaultPluginDir();
  EXPECT_EQ(dir.rfind(std::filesystem::path(program_dir).parent_path().string() + "/", 0), 0u)
      << dir;
  EXPECT_THAT(dir, ::testing::EndsWith("/fhirsync/plugins"));
}

TEST(LoadConfiguredPluginsTest, FileDefaultsToTheNameInTheDir) {
  PluginSpec spec;
  spec.name = "fhir";
  EXPECT_EQ(PluginSpecPath(spec, "/opt/p"), "/opt/p/fhirsync-fhir.so");
  spec.file = "x/y.so";
  EXPECT_EQ(PluginSpecPath(spec, "/opt/p"), "/opt/p/x/y.so");
  spec.file = "/abs/y.so";
  EXPECT_EQ(PluginSpecPath(spec, "/opt/p"), "/abs/y.so");
}

}  // namespace
}  // namespace fhirsync
