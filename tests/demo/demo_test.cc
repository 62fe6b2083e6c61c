// `fhirsync demo --json`: the disconnected client's story with a real parent
// and two real tablets. Each step's outcome is checked from its JSON line
// (facts, not wording), and afterwards no process the demo started is left
// and its folder is gone, also when it is interrupted with SIGINT.

#include <dirent.h>
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/subprocess.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::ProcessOptions;
using testing::ProcessResult;

// One parsed line per step, keyed by the step number.
std::map<int, rapidjson::Document> Steps(const std::string& out) {
  std::map<int, rapidjson::Document> steps;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    EXPECT_FALSE(doc.HasParseError()) << "not a JSON line: " << line;
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("step")) continue;
    int step = doc["step"].GetInt();
    steps[step] = std::move(doc);
  }
  return steps;
}

// Processes whose command line mentions `text` (the demo's folder): every
// node process of the demo has its folder in its arguments.
std::vector<std::string> ProcessesMentioning(const std::string& text) {
  std::vector<std::string> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = readdir(proc)) {
    std::string pid = entry->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in("/proc/" + pid + "/cmdline", std::ios::binary);
    std::stringstream cmdline;
    cmdline << in.rdbuf();
    std::string args = cmdline.str();
    std::replace(args.begin(), args.end(), '\0', ' ');
    if (args.find(text) != std::string::npos) found.push_back(pid + ": " + args);
  }
  closedir(proc);
  return found;
}

std::string Folder(std::map<int, rapidjson::Document>& steps) {
  if (!steps.count(5) || !steps[5].HasMember("folder")) return "";
  return steps[5]["folder"].GetString();
}

TEST(DemoTest, EveryStepOfTheStoryHappens) {
  ProcessOptions options;
  options.timeout = std::chrono::seconds(170);
  ProcessResult r = testing::RunProcess({FHIRSYNC_BINARY, "demo", "--json"}, options);
  ASSERT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::map<int, rapidjson::Document> steps = Steps(r.out);
  for (int step = 0; step <= 5; ++step) {
    ASSERT_TRUE(steps.count(step)) << "no line for step " << step << "\n" << r.out << r.err;
    EXPECT_TRUE(steps[step]["ok"].GetBool()) << "step " << step << ": "
                                             << steps[step]["detail"].GetString() << "\n"
                                             << r.err;
  }
  EXPECT_THAT(steps[0]["parent_url"].GetString(), HasSubstr("http://127.0.0.1:"));

  EXPECT_TRUE(steps[1]["on_parent"].GetBool());
  EXPECT_TRUE(steps[1]["on_tablet_2"].GetBool());
  EXPECT_THAT(steps[1]["see"][0].GetString(), HasSubstr("fhirsync get Patient/"));

  // Offline: local writes work and wait in the outbox; nothing went up.
  EXPECT_TRUE(steps[2]["local_writes_ok"].GetBool());
  EXPECT_EQ(steps[2]["pending"].GetInt(), 2);
  EXPECT_FALSE(steps[2]["reached_parent"].GetBool());

  // The business rule: 422, a dead letter naming the rule, the local copy
  // kept by the pull with the server's beside it; then mended everywhere.
  const rapidjson::Value& rule = steps[3];
  EXPECT_EQ(rule["http_status"].GetInt(), 422);
  EXPECT_STREQ(rule["class"].GetString(), "business-rule");
  EXPECT_TRUE(rule["rule_named"].GetBool());
  EXPECT_TRUE(rule["local_copy_kept"].GetBool());
  EXPECT_TRUE(rule["status_names_dead_letter"].GetBool());
  EXPECT_TRUE(rule["status_in_sync_after"].GetBool());
  EXPECT_TRUE(rule["server_copy_kept_beside"].GetBool());
  EXPECT_STREQ(rule["parent_birth_date"].GetString(), "1984-07-12");
  EXPECT_STREQ(rule["tablet_1_birth_date"].GetString(), "1984-07-12");
  EXPECT_TRUE(rule["phone_kept"].GetBool());
  EXPECT_EQ(rule["dead_letters_left"].GetInt(), 0);

  // The concurrent edit: merged on tablet 2, both fields on every node.
  const rapidjson::Value& merge = steps[4];
  EXPECT_GE(merge["merged_on_tablet_2"].GetInt(), 1);
  EXPECT_TRUE(merge["parent_has_both"].GetBool());
  EXPECT_TRUE(merge["tablet_1_has_both"].GetBool());
  EXPECT_TRUE(merge["tablet_2_has_both"].GetBool());
  EXPECT_EQ(merge["open_conflicts"].GetInt(), 0);

  // Everything stopped and removed.
  EXPECT_GE(steps[5]["processes_stopped"].GetInt(), 3);
  EXPECT_TRUE(steps[5]["graceful"].GetBool());
  EXPECT_FALSE(steps[5]["kept"].GetBool());
  EXPECT_TRUE(steps[5]["removed"].GetBool());
  const std::string folder = Folder(steps);
  ASSERT_FALSE(folder.empty());
  EXPECT_FALSE(std::filesystem::exists(folder));
  EXPECT_THAT(ProcessesMentioning(folder), ::testing::IsEmpty());
}

TEST(DemoTest, InterruptedDemoStopsEveryProcessItStarted) {
  ChildProcess demo;
  std::string error;
  ASSERT_TRUE(demo.Start({FHIRSYNC_BINARY, "demo", "--json", "--keep"}, {}, &error)) << error;
  // Interrupt once the network runs (after setup), in the middle of step 1.
  ASSERT_TRUE(demo.WaitForStdout("\"step\":0", std::chrono::seconds(60))) << demo.Stderr();
  ASSERT_TRUE(demo.Signal(SIGINT));
  ProcessResult r = demo.Wait(std::chrono::seconds(60));
  ASSERT_FALSE(r.timed_out) << demo.Stdout() << demo.Stderr();
  EXPECT_EQ(r.exit_code, 1) << demo.Stdout() << demo.Stderr();
  std::map<int, rapidjson::Document> steps = Steps(demo.Stdout());
  ASSERT_TRUE(steps.count(5)) << demo.Stdout();
  EXPECT_TRUE(steps[5]["ok"].GetBool()) << steps[5]["detail"].GetString();
  EXPECT_TRUE(steps[5]["kept"].GetBool());
  const std::string folder = Folder(steps);
  ASSERT_FALSE(folder.empty());
  EXPECT_THAT(ProcessesMentioning(folder), ::testing::IsEmpty());
  // --keep: the nodes are still there to look at.
  EXPECT_TRUE(std::filesystem::exists(folder + "/parent/fhirsync.json"));
  EXPECT_TRUE(std::filesystem::exists(folder + "/tablet-2/fhirsync.json"));
  std::filesystem::remove_all(folder);
}

TEST(DemoTest, HelpAndUsageErrors) {
  ProcessResult help = testing::RunProcess({FHIRSYNC_BINARY, "demo", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("usage: fhirsync demo [--keep] [--json]"));
  EXPECT_THAT(help.out, HasSubstr("422"));
  ProcessResult extra = testing::RunProcess({FHIRSYNC_BINARY, "demo", "now"});
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_THAT(extra.err, HasSubstr("fhirsync demo:"));
  ProcessResult dir = testing::RunProcess({FHIRSYNC_BINARY, "demo", "--dir", "/tmp"});
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_THAT(dir.err, HasSubstr("--dir is not used"));
}

}  // namespace
}  // namespace fhirsync
