// `fhirsync plugins`: the real program on node folders that load the real
// folder plugin and the broken test modules.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/plugin_loader.h"
#include "support/subprocess.h"
#include "test_files.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;
using ::fhirsync::testing::ProcessResult;
using ::fhirsync::testing::RunProcess;
using ::testing::HasSubstr;

const std::string kTestingDir = FHIRSYNC_TESTING_PLUGIN_DIR;

class PluginsCommandTest : public ::testing::Test {
 protected:
  PluginsCommandTest() : tmp_("fhirsync-plugins"), node_(tmp_.Sub("node")), stick_(tmp_.Sub("usb")) {
    fs::create_directories(node_);
    fs::create_directories(stick_);
  }

  void WriteConfig(const NodeConfig& config) {
    Status saved = SaveNodeConfig(node_, config);
    ASSERT_TRUE(saved.ok()) << saved;
  }

  NodeConfig FolderNode() const {
    NodeConfig config;
    config.node_id = "clinic-1";
    config.parent.url = "file://" + stick_;
    config.pull.types = {"Patient", "visittype"};
    config.plugins.load.push_back({"folder", FHIRSYNC_FOLDER_PLUGIN, false, {}});
    return config;
  }

  ProcessResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {FHIRSYNC_BINARY, "plugins", "--dir", node_});
    return RunProcess(args);
  }

  rapidjson::Document Json(const ProcessResult& r) {
    rapidjson::Document doc;
    doc.Parse(r.out.c_str(), r.out.size());
    EXPECT_FALSE(doc.HasParseError()) << r.out;
    return doc;
  }

  testing::TempDir tmp_;
  std::string node_;
  std::string stick_;
};

TEST_F(PluginsCommandTest, JsonListsPluginCapabilitiesAndRoutes) {
  NodeConfig config = FolderNode();
  config.plugins.load.push_back({"testing", "testing-toolchain.so", true, {}});
  config.plugins.dir = kTestingDir;
  WriteConfig(config);
  ProcessResult r = Run({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err << r.out;
  rapidjson::Document doc = Json(r);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(std::string(doc["plugin_dir"].GetString()), kTestingDir);
  ASSERT_EQ(doc["plugins"].Size(), 1u);
  const rapidjson::Value& folder = doc["plugins"][0];
  EXPECT_STREQ(folder["name"].GetString(), "folder");
  EXPECT_STREQ(folder["version"].GetString(), "1.0.0");
  EXPECT_STREQ(folder["abi"].GetString(), "1.2");
  EXPECT_STREQ(folder["file"].GetString(), FHIRSYNC_FOLDER_PLUGIN);
  EXPECT_EQ(std::string(folder["toolchain"].GetString()), HostToolchainId());
  const rapidjson::Value& caps = folder["capabilities"];
  EXPECT_STREQ(caps["resource_types"][0].GetString(), "*");
  EXPECT_EQ(caps["operations"].Size(), 6u);
  EXPECT_STREQ(caps["operations"][1].GetString(), "read-many");
  EXPECT_STREQ(caps["formats"][1].GetString(), "openmrs-rest");
  EXPECT_EQ(caps["priority"].GetInt(), 0);

  ASSERT_EQ(doc["failed"].Size(), 1u);
  const rapidjson::Value& failed = doc["failed"][0];
  EXPECT_STREQ(failed["name"].GetString(), "testing");
  EXPECT_TRUE(failed["optional"].GetBool());
  EXPECT_THAT(failed["error"].GetString(),
              HasSubstr("testing-toolchain.so: built with toolchain 'msvc-1930"));

  // Named types (the subscribed ones) and the "*" fallbacks.
  std::vector<std::string> routes;
  for (const auto& route : doc["routes"].GetArray()) {
    routes.push_back(std::string(route["type"].GetString()) + " " + route["format"].GetString() +
                     " " + route["operation"].GetString() + " " + route["plugin"].GetString());
  }
  EXPECT_THAT(routes, ::testing::Contains("Patient fhir+json update folder"));
  EXPECT_THAT(routes, ::testing::Contains("visittype openmrs-rest read folder"));
  EXPECT_THAT(routes, ::testing::Contains("* openmrs-rest history folder"));
  EXPECT_EQ(routes.size(), 4u * 6u);  // Patient, visittype, * in each format
  EXPECT_TRUE(doc["error"].IsNull());
}

TEST_F(PluginsCommandTest, TextShowsTheSameFacts) {
  NodeConfig config = FolderNode();
  config.plugins.routes["Location"] = "folder";
  WriteConfig(config);
  ProcessResult r = Run({});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("folder 1.0.0  (ABI 1.2, " + std::string(FHIRSYNC_FOLDER_PLUGIN) +
                               ")\n"));
  EXPECT_THAT(r.out, HasSubstr("  formats     fhir+json, openmrs-rest\n"));
  EXPECT_THAT(r.out, HasSubstr("routing table\n  type"));
  EXPECT_THAT(r.out, HasSubstr("  Location   fhir+json     folder  route         read, read-many, "
                               "create, update, delete, history\n"));
}

TEST_F(PluginsCommandTest, AmbiguityFailsAndNamesIt) {
  NodeConfig config = FolderNode();
  config.plugins.dir = kTestingDir;
  config.plugins.load.push_back({"throws-on-call", "testing-throws_on_call.so", false, {}});
  WriteConfig(config);
  ProcessResult r = Run({"--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  rapidjson::Document doc = Json(r);
  EXPECT_EQ(doc["plugins"].Size(), 2u);  // both still listed
  EXPECT_EQ(doc["routes"].Size(), 0u);
  EXPECT_STREQ(doc["error"].GetString(),
               "FAILED_PRECONDITION: Patient (fhir+json) read is claimed by plugins 'folder' and "
               "'throws-on-call' at the same priority 0; add a route in plugins.routes or give "
               "one a higher priority");
  ProcessResult text = Run({});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.out, HasSubstr("routing table\n  refused: Patient (fhir+json) read is claimed"));
}

TEST_F(PluginsCommandTest, RequiredPluginFailureFails) {
  NodeConfig config = FolderNode();
  config.plugins.dir = kTestingDir;
  config.plugins.load.push_back({"abi", "testing-abi_minor.so", false, {}});
  WriteConfig(config);
  ProcessResult r = Run({});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("abi FAILED: plugin " + kTestingDir +
                               "/testing-abi_minor.so: built for plugin ABI 1.3, newer than this "
                               "host's 1.2"));
}

TEST_F(PluginsCommandTest, WithoutALoadListEveryModuleInTheFolderIsTried) {
  // No fhirsync.json at all: defaults, and the folder named on the command line.
  std::string dir = tmp_.Sub("plugins");
  fs::create_directories(dir);
  fs::create_symlink(FHIRSYNC_FOLDER_PLUGIN, dir + "/fhirsync-folder.so");
  fs::create_symlink(kTestingDir + "/testing-no_entry.so", dir + "/fhirsync-noentry.so");
  testing::WriteTextFile(dir + "/README", "not a plugin");
  ProcessResult r = Run({"--plugin-dir", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err << r.out;
  rapidjson::Document doc = Json(r);
  EXPECT_EQ(doc["plugins"].Size(), 0u);
  ASSERT_EQ(doc["failed"].Size(), 2u);
  // The folder plugin is there but has no folder to work on without config.
  EXPECT_STREQ(doc["failed"][0]["name"].GetString(), "folder");
  EXPECT_THAT(doc["failed"][0]["error"].GetString(),
              HasSubstr("configure failed: the folder transport needs a folder"));
  EXPECT_STREQ(doc["failed"][1]["name"].GetString(), "noentry");
  EXPECT_THAT(doc["failed"][1]["error"].GetString(), HasSubstr("no entry symbol"));
}

TEST_F(PluginsCommandTest, BadConfigIsReported) {
  testing::WriteTextFile(node_ + "/fhirsync.json",
                         R"({"node_id":"n1","plugins":{"load":[{"name":"x","optionz":{}}]}})");
  ProcessResult r = Run({});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("plugins.load[0].optionz: unknown key"));
}

}  // namespace
}  // namespace fhirsync
