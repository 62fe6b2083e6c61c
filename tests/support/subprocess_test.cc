#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

TEST(RunProcessTest, CapturesStdoutStderrAndExitCode) {
  ProcessResult r = RunProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.Describe(), "exit 7");
}

TEST(RunProcessTest, FeedsStdinLargerThanAPipe) {
  ProcessOptions options;
  options.stdin_data = std::string(1 << 20, 'x');
  ProcessResult r = RunProcess({"/usr/bin/wc", "-c"}, options);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1048576\n");
}

TEST(RunProcessTest, WorkingFolderAndEnvironment) {
  TempDir dir("fhirsync-support");
  ProcessOptions options;
  options.cwd = dir.path();
  options.env = {"FHIRSYNC_PROBE=42"};
  ProcessResult r = RunProcess({"/bin/sh", "-c", "pwd; echo $FHIRSYNC_PROBE"}, options);
  EXPECT_EQ(r.out, std::filesystem::canonical(dir.path()).string() + "\n42\n");
}

TEST(RunProcessTest, KillsAtTheDeadline) {
  ProcessOptions options;
  options.timeout = std::chrono::milliseconds(200);
  ProcessResult r = RunProcess({"/bin/sleep", "30"}, options);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_EQ(r.Describe(), "timed out");
}

TEST(RunProcessTest, StderrCanBeATerminal) {
  ProcessOptions options;
  options.stderr_is_terminal = true;
  ProcessResult r = RunProcess({"/bin/sh", "-c", "test -t 2 && echo tty >&2; test -t 1 || echo pipe"},
                               options);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "pipe\n");
  EXPECT_NE(r.err.find("tty"), std::string::npos) << r.err;
}

TEST(RunProcessTest, MissingProgramExits127) {
  ProcessResult r = RunProcess({"/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("exec failed"), std::string::npos);
}

TEST(ChildProcessTest, WaitsForOutputThenStopsOnSignal) {
  ChildProcess child;
  std::string error;
  ASSERT_TRUE(child.Start({"/bin/sh", "-c", "echo listening on 127.0.0.1:1234; exec sleep 30"}, {},
                          &error))
      << error;
  ASSERT_TRUE(child.WaitForStdout("listening on", std::chrono::seconds(10))) << child.Stderr();
  EXPECT_TRUE(child.Running());
  ASSERT_TRUE(child.Signal(SIGTERM));
  ProcessResult r = child.Wait(std::chrono::seconds(10));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_EQ(r.out, "listening on 127.0.0.1:1234\n");
  EXPECT_FALSE(child.Running());
}

TEST(ChildProcessTest, WaitForStdoutFailsWhenTheChildExits) {
  ChildProcess child;
  std::string error;
  ProcessOptions options;
  options.stdin_data = "hello";
  ASSERT_TRUE(child.Start({"/bin/sh", "-c", "cat; echo bye >&2; exit 3"}, options, &error));
  EXPECT_FALSE(child.WaitForStdout("never printed", std::chrono::seconds(10)));
  ProcessResult r = child.Wait(std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "hello");
  EXPECT_EQ(r.err, "bye\n");
}

}  // namespace
}  // namespace fhirsync::testing
