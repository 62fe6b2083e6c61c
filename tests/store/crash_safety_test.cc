// Crash safety: a writer process (crash_writer) is killed with SIGKILL at
// random moments, at least 20 times per backend. After each kill the store
// must open cleanly, pass CheckIntegrity (each version one `changes` row,
// versions and seqs without gaps, one outbox row per local change and none
// for the parent's), and hold every write the writer acknowledged. The kill
// moments come from a seed that is printed; FHIRSYNC_TEST_SEED replays it
// (as nearly as the machine's timing allows).

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"
#include "store_test_support.h"
#include "support/test_seed.h"

extern char** environ;

namespace fhirsync {
namespace {

constexpr int kKills = 20;
constexpr auto kDeadline = std::chrono::seconds(30);

// A running crash_writer with its stdout on a pipe.
class WriterProcess {
 public:
  WriterProcess(const std::string& backend, const std::string& target) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::string program = FHIRSYNC_CRASH_WRITER;
    std::vector<std::string> args = {program, backend, target, "crash-node"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    read_fd_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + strerror(rc));
  }
  ~WriterProcess() {
    if (pid_ > 0) KillAndReap();
    if (read_fd_ >= 0) close(read_fd_);
  }

  // Reads acknowledgements until `count` more arrived or the deadline
  // passes; returns false on the deadline or if the writer exited.
  bool WaitForAcks(int count, std::chrono::steady_clock::time_point deadline) {
    int seen = 0;
    while (seen < count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{read_fd_, POLLIN, 0};
      int ready = poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0) return false;
      if (ready == 0) continue;
      char buffer[4096];
      ssize_t n = read(read_fd_, buffer, sizeof buffer);
      if (n <= 0) return false;  // the writer died on its own
      for (ssize_t i = 0; i < n; ++i) {
        if (buffer[i] == '\n') {
          if (!pending_.empty()) acknowledged_ = std::max<std::int64_t>(acknowledged_, std::stoll(pending_));
          pending_.clear();
          ++seen;
        } else {
          pending_ += buffer[i];
        }
      }
    }
    return true;
  }

  // SIGKILL, then reap; returns true if it died of the signal.
  bool KillAndReap() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

  // The highest seq acknowledged on a complete line. A line cut by the kill
  // is ignored: its write may or may not have committed.
  std::int64_t acknowledged() const { return acknowledged_; }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string pending_;
  std::int64_t acknowledged_ = 0;
};

void RunKillLoop(const std::string& backend, const std::string& target,
                 const StoreConfig& config) {
  const std::uint64_t seed = testing::TestSeed();
  SCOPED_TRACE(testing::ReplayHint(seed));
  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed ^ (seed >> 32)));
  std::int64_t acknowledged = 0;
  for (int kill_number = 1; kill_number <= kKills; ++kill_number) {
    SCOPED_TRACE("kill " + std::to_string(kill_number));
    {
      WriterProcess writer(backend, target);
      const auto deadline = std::chrono::steady_clock::now() + kDeadline;
      // Let it commit a random number of writes, then kill it wherever it is
      // (inside a transaction, between statements, during a commit...).
      ASSERT_TRUE(writer.WaitForAcks(1 + rng() % 40, deadline))
          << "the writer made no progress";
      if (rng() % 2) {
        // Sometimes also let it run a random few hundred microseconds more,
        // so the kill does not always land right after a commit.
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::microseconds(rng() % 3000);
        while (std::chrono::steady_clock::now() < until) {
        }
      }
      ASSERT_TRUE(writer.KillAndReap());
      acknowledged = std::max(acknowledged, writer.acknowledged());
    }
    auto store = OpenLocalStore(config, "", "crash-node");
    ASSERT_TRUE(store.ok()) << store.status();
    Status integrity = (*store)->CheckIntegrity();
    ASSERT_TRUE(integrity.ok()) << integrity;
    auto last = (*store)->LastSeq();
    ASSERT_TRUE(last.ok()) << last.status();
    ASSERT_GE(*last, acknowledged) << "an acknowledged write was lost";
  }
  // Local and parent changes were both exercised.
  auto store = OpenLocalStore(config, "", "crash-node");
  ASSERT_TRUE(store.ok());
  auto stats = (*store)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT(stats->outbox_pending, 0);
  EXPECT_LT(stats->outbox_pending, stats->last_seq);
}

TEST(CrashSafetyTest, SqliteSurvivesSigkillAtRandomMoments) {
  testing::ScratchDir dir;
  StoreConfig config;
  config.backend = "sqlite";
  config.path = dir.path() + "/store.sqlite";
  RunKillLoop("sqlite", config.path, config);
}

TEST(CrashSafetyTest, PostgresSurvivesSigkillAtRandomMoments) {
  testing::PostgresSchema schema;
  StoreConfig config;
  config.backend = "postgresql";
  config.connection = schema.connection();
  RunKillLoop("postgresql", config.connection, config);
}

}  // namespace
}  // namespace fhirsync
