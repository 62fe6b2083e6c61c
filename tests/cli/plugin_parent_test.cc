// A node whose parent is reached only through a plugin (the folder plugin:
// parent.url file:///..., no HTTP anywhere): sync, status and verify must
// understand it rather than try to ask an HTTP server who it is.

#include <filesystem>
#include <string>
#include <vector>

#include "cli_harness.h"

namespace fhirsync::cli_test {
namespace {

namespace fs = std::filesystem;

const std::string kPluginDir = FHIRSYNC_PLUGIN_DIR;

class PluginParentTest : public CliTest {
 protected:
  PluginParentTest() : stick_(tmp_.Sub("stick")), other_(tmp_.Sub("other")) {
    fs::create_directories(stick_);
  }

  // Makes `dir` a child of the folder on the "stick", named `parent_id`
  // ("" leaves parent.node_id unset).
  void InitFolderChild(const std::string& dir, const std::string& node_id,
                       const std::string& parent_id) {
    auto ok = [&](std::vector<std::string> args) {
      ProcessResult r = Fhirsync(args);
      ASSERT_EQ(r.exit_code, 0) << r.Describe() << "\n" << r.err;
    };
    ok({"init", "--dir", dir, "--node-id", node_id});
    ok({"config", "set", "--dir", dir, "parent.url", "file://" + stick_});
    if (!parent_id.empty()) ok({"config", "set", "--dir", dir, "parent.node_id", parent_id});
    ok({"config", "set", "--dir", dir, "plugins.dir", kPluginDir});
    ok({"config", "add", "--dir", dir, "plugins.load",
        R"({"name":"folder","options":{"dir":")" + stick_ + R"("}})"});
  }

  rapidjson::Document Status(const std::string& dir, int want_exit) {
    ProcessResult r = Fhirsync({"status", "--dir", dir, "--json"});
    EXPECT_EQ(r.exit_code, want_exit) << r.Describe() << "\n" << r.out << r.err;
    rapidjson::Document doc;
    EXPECT_TRUE(ParseJson(r.out, &doc));
    return doc;
  }

  std::string stick_;
  std::string other_;
};

TEST_F(PluginParentTest, SyncAndStatusGoThroughThePluginUnderTheConfiguredNodeId) {
  InitFolderChild(node_, "writer", "stick");
  InitFolderChild(other_, "reader", "stick");
  WriteTextFile(tmp_.Sub("p.json"), R"({"resourceType":"Patient","id":"p1","active":true})");
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);

  // Before the push: the writer has a change waiting.
  rapidjson::Document before = Status(node_, 1);
  EXPECT_STREQ(before["parent"]["reached_through"].GetString(), "plugins");
  EXPECT_TRUE(before["parent"]["reachable"].GetBool())
      << before["parent"]["unreachable_reason"].GetString();
  EXPECT_EQ(before["pending"]["count"].GetInt64(), 1);

  ProcessResult sync = Run("sync", {"--once"});
  ASSERT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_TRUE(Status(node_, 0)["in_sync"].GetBool());

  // The reader sees the change waiting on the stick, as lag, then pulls it.
  rapidjson::Document lagging = Status(other_, 1);
  ASSERT_TRUE(lagging["parent"]["reachable"].GetBool())
      << lagging["parent"]["unreachable_reason"].GetString();
  ASSERT_TRUE(lagging["lag"].IsObject());
  EXPECT_EQ(lagging["lag"]["changes"].GetInt64(), 1);
  ASSERT_EQ(Fhirsync({"sync", "--dir", other_, "--once"}).exit_code, 0);
  rapidjson::Document after = Status(other_, 0);
  EXPECT_TRUE(after["in_sync"].GetBool());
  EXPECT_EQ(after["lag"]["changes"].GetInt64(), 0);
  ProcessResult got = Fhirsync({"get", "--dir", other_, "Patient/p1"});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_NE(got.out.find("\"active\":true"), std::string::npos) << got.out;

  // The human words say how the parent is reached.
  ProcessResult words = Fhirsync({"status", "--dir", other_});
  EXPECT_NE(words.out.find("reached through the plugins"), std::string::npos) << words.out;
}

TEST_F(PluginParentTest, WithoutAConfiguredNodeIdEachVerbSaysHowToSetIt) {
  InitFolderChild(node_, "writer", "");
  ProcessResult sync = Run("sync", {"--once"});
  EXPECT_NE(sync.exit_code, 0);
  EXPECT_NE(sync.err.find("reached only through plugins"), std::string::npos) << sync.err;
  EXPECT_NE(sync.err.find("config set parent.node_id"), std::string::npos) << sync.err;

  rapidjson::Document status = Status(node_, 1);
  EXPECT_FALSE(status["parent"]["reachable"].GetBool());
  ASSERT_EQ(status["problems"].Size(), 1u);
  EXPECT_EQ(std::string(status["problems"][0]["command"].GetString()),
            "fhirsync config set --dir " + node_ + " parent.node_id ID");
}

TEST_F(PluginParentTest, AnUnmountedFolderIsReportedAsTheParentUnreachable) {
  InitFolderChild(node_, "writer", "stick");
  fs::remove_all(stick_);
  rapidjson::Document status = Status(node_, 1);
  EXPECT_FALSE(status["parent"]["reachable"].GetBool());
  EXPECT_NE(std::string(status["parent"]["unreachable_reason"].GetString()).find("mounted"),
            std::string::npos)
      << status["parent"]["unreachable_reason"].GetString();
  EXPECT_NE(std::string(status["problems"][0]["command"].GetString()).find("plugins.load"),
            std::string::npos);
}

TEST_F(PluginParentTest, VerifySaysItNeedsAnHttpParent) {
  InitFolderChild(node_, "writer", "stick");
  ProcessResult r = Run("verify");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("reached only through plugins"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace fhirsync::cli_test
