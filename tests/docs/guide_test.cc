// The getting-started guide's "A two-node network by hand" runs as written:
// its ```sh blocks, in order, in an empty folder with the built fhirsync on
// PATH, under `set -euo pipefail`, so a command that stops working fails
// this test and the guide cannot rot.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

constexpr char kSection[] = "## A two-node network by hand";

// The ```sh blocks of the section titled `title` of the Markdown `text`.
std::vector<std::string> ShellBlocks(const std::string& text, const std::string& title) {
  std::vector<std::string> blocks;
  std::istringstream in(text);
  std::string line;
  bool in_section = false;
  bool in_block = false;
  std::string block;
  while (std::getline(in, line)) {
    if (!in_block && line.rfind("## ", 0) == 0) in_section = line == title;
    if (!in_section) continue;
    if (!in_block && line == "```sh") {
      in_block = true;
      block.clear();
    } else if (in_block && line == "```") {
      in_block = false;
      blocks.push_back(block);
    } else if (in_block) {
      block += line + "\n";
    }
  }
  return blocks;
}

TEST(GettingStartedGuideTest, TwoNodeNetworkByHandWorksAsWritten) {
  std::ifstream file(FHIRSYNC_GUIDE);
  ASSERT_TRUE(file) << "cannot read " << FHIRSYNC_GUIDE;
  std::stringstream text;
  text << file.rdbuf();
  std::vector<std::string> blocks = ShellBlocks(text.str(), kSection);
  ASSERT_GE(blocks.size(), 5u) << "the section or its ```sh blocks moved";

  testing::TempDir tmp("fhirsync-guide");
  // A failing step must not leave the guide's background server running.
  std::string script =
      "set -euo pipefail\n"
      "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n";
  for (const std::string& block : blocks) script += block;
  std::ofstream(tmp.Sub("guide.sh")) << script;

  testing::ProcessOptions options;
  options.cwd = tmp.path();
  const std::string bin_dir = std::filesystem::path(FHIRSYNC_BINARY).parent_path().string();
  const char* path = std::getenv("PATH");
  options.env = {"PATH=" + bin_dir + ":" + (path != nullptr ? path : "/usr/bin:/bin")};
  options.timeout = std::chrono::seconds(120);
  testing::ProcessResult run = testing::RunProcess({"/bin/bash", tmp.Sub("guide.sh")}, options);
  ASSERT_EQ(run.exit_code, 0) << run.Describe() << "\n--- stdout\n"
                              << run.out << "\n--- stderr\n"
                              << run.err << "\n--- script\n"
                              << script;
  // The parent's address came from serve's own line, not a fixed port.
  EXPECT_THAT(run.out, HasSubstr("the district server is at http://127.0.0.1:"));
  // Before the sync, status said it was not in step (exit 1) ...
  EXPECT_THAT(run.out, HasSubstr("status exit 1: not in step yet"));
  // ... and each side got the other's patient.
  EXPECT_THAT(run.out, HasSubstr("\"id\":\"registered-at-district\""));
  EXPECT_THAT(run.out, HasSubstr("\"id\":\"registered-on-tablet\""));
  EXPECT_THAT(run.out, HasSubstr("Everything is in step with the parent."));
}

}  // namespace
}  // namespace fhirsync
