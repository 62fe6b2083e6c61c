// The admin page end to end (integration): a real `fhirsync serve` of a
// child whose store holds a dead letter, opened as admin in headless
// Chromium (Debian's `chromium`) by admin_ui_driver.mjs, which clicks Retry
// on the dead letter; the outbox is then checked through the admin API. The
// page's screenshot is kept in this test's output folder (its path is
// printed). Chromium and Node missing is a failure, never a skip: CI
// installs both (scripts/install-deps.sh).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "ops_nodes.h"

namespace fhirsync::testing {
namespace {

// The first of `names` found in PATH, or "".
std::string FindProgram(const std::vector<std::string>& names) {
  const char* path = std::getenv("PATH");
  std::string folders = path != nullptr ? path : "/usr/bin:/bin";
  for (const std::string& name : names) {
    std::size_t start = 0;
    while (start <= folders.size()) {
      std::size_t end = folders.find(':', start);
      if (end == std::string::npos) end = folders.size();
      const std::filesystem::path candidate =
          std::filesystem::path(folders.substr(start, end - start)) / name;
      std::error_code error;
      if (std::filesystem::is_regular_file(candidate, error) &&
          access(candidate.c_str(), X_OK) == 0) {
        return candidate.string();
      }
      start = end + 1;
    }
  }
  return "";
}

TEST(AdminUiTest, RetryADeadLetterFromThePage) {
  const std::string chromium = FindProgram({"chromium", "chromium-browser"});
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed (apt-get install chromium; scripts/install-deps.sh does it)";
  const std::string node = FindProgram({"node", "nodejs"});
  ASSERT_FALSE(node.empty()) << "node is not installed (scripts/install-deps.sh installs nodejs)";

  OpsNodes nodes;
  ASSERT_NO_FATAL_FAILURE(nodes.SetUp());
  ASSERT_NO_FATAL_FAILURE(nodes.ServeChild());
  const std::int64_t seq = nodes.DeadLetterSeq();
  ASSERT_GT(seq, 0) << "the child holds no dead letter";
  ASSERT_EQ(nodes.OutboxState(seq), "dead");

  std::filesystem::create_directories(ADMIN_UI_OUTPUT_DIR);
  const std::string screenshot = std::string(ADMIN_UI_OUTPUT_DIR) + "/admin-page.png";
  std::filesystem::remove(screenshot);
  ProcessOptions options;
  options.timeout = std::chrono::seconds(150);
  ProcessResult driven = RunProcess(
      {node, ADMIN_UI_DRIVER, chromium, nodes.child_serve().url() + "/admin/ui/",
       BasicAuth(kAdminUser, kAdminPassword), std::to_string(seq), screenshot},
      options);
  ASSERT_EQ(driven.exit_code, 0) << driven.out << driven.err;
  EXPECT_EQ(driven.out.rfind("Retry " + std::to_string(seq) + ": ", 0), 0u) << driven.out;

  // The click reached the store: the dead letter is queued again, and the
  // audit log names the admin API as the actor.
  EXPECT_EQ(nodes.OutboxState(seq), "pending");
  Reply audit = nodes.ChildAdmin().Get("/admin/audit?operation=retry");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("admin API"), std::string::npos) << audit.body;

  ASSERT_TRUE(std::filesystem::exists(screenshot));
  EXPECT_GT(std::filesystem::file_size(screenshot), 10000u) << "a page, not a blank image";
  std::cout << "admin page screenshot: " << screenshot << std::endl;
}

}  // namespace
}  // namespace fhirsync::testing
