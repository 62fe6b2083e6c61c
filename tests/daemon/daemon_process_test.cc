// `fhirsync sync --watch` as a real process beside a real parent
// (`fhirsync serve` on 127.0.0.1, a port the OS picks), with real SQLite
// stores: changes flow both ways without any command, another process's
// write is pushed promptly, a parent that goes away is waited for, SIGTERM
// stops it cleanly, --log-level filters. Every wait polls with a deadline.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/config.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBinary = FHIRSYNC_BINARY;
const std::string kTestData = FHIRSYNC_TEST_DATA;
constexpr char kChildUser[] = "tablet";
constexpr char kChildPassword[] = "daemon test password";

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  return RunProgram(kBinary, args, stdin_data);
}

// Polls `done` every 50 ms until it holds or `timeout` passes.
bool Eventually(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::string PatientBody(const std::string& id, const std::string& family) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
         R"("}]})";
}

bool Holds(const std::string& dir, const std::string& key, const std::string& words) {
  ProcessResult get = Fhirsync({"get", key, "--dir", dir});
  return get.exit_code == 0 && get.out.find(words) != std::string::npos;
}

// `fhirsync stats`'s count of live resources, or -1.
std::int64_t LiveResources(const std::string& dir) {
  ProcessResult stats = Fhirsync({"stats", "--dir", dir, "--json"});
  rapidjson::Document counts;
  counts.Parse(stats.out.c_str());
  if (stats.exit_code != 0 || !counts.IsObject() || !counts.HasMember("live")) return -1;
  return counts["live"].GetInt64();
}

// The lines of `text`, without empty ones.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

class DaemonProcessTest : public ::testing::Test {
 protected:
  DaemonProcessTest()
      : tmp_("fhirsync-daemon"),
        parent_dir_(tmp_.path() + "/parent"),
        parent_(kBinary, parent_dir_) {}

  void SetUp() override {
    ProcessResult init = Fhirsync({"init", "--dir", parent_dir_, "--node-id", "district"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ProcessResult user = Fhirsync(
        {"user", "add", kChildUser, "--role", "read,write", "--dir", parent_dir_},
        std::string(kChildPassword) + "\n");
    ASSERT_EQ(user.exit_code, 0) << user.err;
  }

  void StartParent() { ASSERT_TRUE(parent_.Start()) << parent_.error(); }

  // A child of the parent; `pull_seconds` / `push_seconds` set its intervals.
  std::string InitChild(const std::string& name, int pull_seconds, int push_seconds) {
    const std::string dir = tmp_.path() + "/" + name;
    ProcessResult init =
        Fhirsync({"init", "--dir", dir, "--node-id", name, "--parent", parent_.url(),
                  "--parent-user", kChildUser},
                 std::string(kChildPassword) + "\n");
    EXPECT_EQ(init.exit_code, 0) << init.err;
    StatusOr<NodeConfig> config = LoadNodeConfig(dir);
    EXPECT_TRUE(config.ok()) << config.status();
    config->pull.interval_seconds = pull_seconds;
    config->push.interval_seconds = push_seconds;
    EXPECT_TRUE(SaveNodeConfig(dir, *config).ok());
    return dir;
  }

  void Put(const std::string& dir, const std::string& id, const std::string& family) {
    ProcessResult put = Fhirsync({"put", "-", "--dir", dir}, PatientBody(id, family));
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }

  void StartDaemon(ChildProcess& daemon, const std::string& dir,
                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{kBinary, "sync", "--dir", dir, "--watch"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    ASSERT_TRUE(daemon.Start(argv, {}, &error)) << error;
  }

  // SIGTERM, then the exit status within 20 s.
  ProcessResult Terminate(ChildProcess& daemon) {
    EXPECT_TRUE(daemon.Signal(SIGTERM));
    return daemon.Wait(std::chrono::seconds(20));
  }

  TempDir tmp_;
  std::string parent_dir_;
  ServeProcess parent_;
};

TEST_F(DaemonProcessTest, ChangesFlowBothWaysWithoutAnyCommandAndSigtermStopsIt) {
  StartParent();
  Put(parent_dir_, "from-parent-1", "Okello");
  // Pull every second; push only every hour, so a prompt push proves the
  // daemon noticed the other process's write.
  const std::string child = InitChild("tablet-1", 1, 3600);
  ChildProcess daemon;
  StartDaemon(daemon, child, {"--json"});

  EXPECT_TRUE(Eventually(std::chrono::seconds(20),
                         [&] { return Holds(child, "Patient/from-parent-1", "Okello"); }))
      << daemon.Stderr();
  // A change made on the parent while the daemon runs arrives by itself.
  Put(parent_dir_, "from-parent-2", "Namono");
  EXPECT_TRUE(Eventually(std::chrono::seconds(20),
                         [&] { return Holds(child, "Patient/from-parent-2", "Namono"); }))
      << daemon.Stderr();

  // A write by another process on the child reaches the parent promptly.
  Put(child, "from-tablet", "Achieng");
  const auto put_done = std::chrono::steady_clock::now();
  EXPECT_TRUE(Eventually(std::chrono::seconds(10),
                         [&] { return Holds(parent_dir_, "Patient/from-tablet", "Achieng"); }))
      << daemon.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - put_done, std::chrono::seconds(10));
  ASSERT_TRUE(daemon.Running()) << daemon.Stderr();

  ProcessResult stopped = Terminate(daemon);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.Describe() << "\n" << stopped.err;
  // The summary: one JSON document on stdout.
  rapidjson::Document summary;
  summary.Parse(stopped.out.c_str());
  ASSERT_TRUE(summary.IsObject()) << stopped.out;
  EXPECT_TRUE(summary["pull"]["enabled"].GetBool());
  EXPECT_GE(summary["pull"]["applied"].GetInt64(), 2);
  EXPECT_GE(summary["pull"]["passes"].GetInt64(), 2);
  EXPECT_EQ(summary["push"]["sent"].GetInt64(), 1);
  EXPECT_EQ(summary["pull"]["failures"].GetInt64(), 0);
  EXPECT_GE(summary["triggers"].GetInt64(), 1);
  // Logs: JSON lines on stderr with time, level, side and message.
  std::vector<std::string> lines = Lines(stopped.err);
  ASSERT_FALSE(lines.empty());
  bool saw_stop = false;
  for (const std::string& line : lines) {
    rapidjson::Document record;
    record.Parse(line.c_str());
    ASSERT_TRUE(record.IsObject()) << line;
    ASSERT_TRUE(record.HasMember("time") && record.HasMember("level") &&
                record.HasMember("side") && record.HasMember("message"))
        << line;
    EXPECT_TRUE(std::regex_match(record["time"].GetString(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line;
    if (std::string(record["message"].GetString()).find("received SIGTERM") != std::string::npos) {
      saw_stop = true;
    }
  }
  EXPECT_TRUE(saw_stop) << stopped.err;
}

TEST_F(DaemonProcessTest, OneWaySyncRunsOnlyTheEnabledSideAndSigintStopsIt) {
  StartParent();
  const std::string child = InitChild("tablet-7", 1, 3600);
  StatusOr<NodeConfig> config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->pull.enabled = false;  // push only
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  Put(parent_dir_, "stays-up", "Tumusiime");
  ChildProcess daemon;
  StartDaemon(daemon, child, {"--json"});
  Put(child, "goes-up", "Nabirye");
  EXPECT_TRUE(Eventually(std::chrono::seconds(10),
                         [&] { return Holds(parent_dir_, "Patient/goes-up", "Nabirye"); }))
      << daemon.Stderr();
  EXPECT_TRUE(daemon.Signal(SIGINT));
  ProcessResult stopped = daemon.Wait(std::chrono::seconds(20));
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("received SIGINT"));
  rapidjson::Document summary;
  summary.Parse(stopped.out.c_str());
  ASSERT_TRUE(summary.IsObject()) << stopped.out;
  EXPECT_FALSE(summary["pull"]["enabled"].GetBool());
  EXPECT_EQ(summary["pull"]["steps"].GetInt64(), 0);
  EXPECT_EQ(summary["push"]["sent"].GetInt64(), 1);
  EXPECT_FALSE(Holds(child, "Patient/stays-up", "Tumusiime"));
}

TEST_F(DaemonProcessTest, LogLevelFiltersTheLines) {
  StartParent();
  Put(parent_dir_, "p1", "Mugisha");
  const std::string child = InitChild("tablet-2", 1, 3600);
  ChildProcess quiet;
  StartDaemon(quiet, child, {"--log-level", "warn"});
  ASSERT_TRUE(Eventually(std::chrono::seconds(20),
                         [&] { return Holds(child, "Patient/p1", "Mugisha"); }));
  ProcessResult q = Terminate(quiet);
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.err, "") << "warn shows no info lines while all is well";
  EXPECT_THAT(q.out, HasSubstr("sync stopped after"));
  EXPECT_THAT(q.out, HasSubstr("pull applied 1 in"));

  Put(parent_dir_, "p2", "Nakato");
  ChildProcess chatty;
  StartDaemon(chatty, child, {"--log-level", "debug"});
  ASSERT_TRUE(Eventually(std::chrono::seconds(20),
                         [&] { return Holds(child, "Patient/p2", "Nakato"); }));
  ProcessResult c = Terminate(chatty);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  const std::regex line(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn |info |debug) (sync|pull|push): .+)");
  bool saw_debug = false, saw_info = false;
  for (const std::string& l : Lines(c.err)) {
    EXPECT_TRUE(std::regex_match(l, line)) << l;
    if (l.find(" debug pull: ") != std::string::npos) saw_debug = true;
    if (l.find(" info  pull: applied 1 in") != std::string::npos) saw_info = true;
  }
  EXPECT_TRUE(saw_debug) << c.err;
  EXPECT_TRUE(saw_info) << c.err;
}

TEST_F(DaemonProcessTest, BadInvocationsAreUsageErrors) {
  StartParent();
  const std::string child = InitChild("tablet-3", 60, 30);
  ProcessResult none = Fhirsync({"sync", "--dir", child});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("say how to sync: --once (one pass) or --watch"));
  ProcessResult both = Fhirsync({"sync", "--dir", child, "--once", "--watch"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("--once and --watch exclude each other"));
  ProcessResult level = Fhirsync({"sync", "--dir", child, "--watch", "--log-level", "loud"});
  EXPECT_EQ(level.exit_code, 2);
  EXPECT_THAT(level.err, HasSubstr("--log-level: unknown log level 'loud'"));
  ProcessResult once_level = Fhirsync({"sync", "--dir", child, "--once", "--log-level", "debug"});
  EXPECT_EQ(once_level.exit_code, 2);
  EXPECT_THAT(once_level.err, HasSubstr("--log-level goes with --watch"));

  // One-way: pushing off in the config, --watch --push is refused.
  StatusOr<NodeConfig> config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->push.enabled = false;
  config->pull.enabled = false;
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  ProcessResult push_off = Fhirsync({"sync", "--dir", child, "--watch", "--push"});
  EXPECT_EQ(push_off.exit_code, 1);
  EXPECT_THAT(push_off.err, HasSubstr("pushing is turned off for this node"));
  ProcessResult all_off = Fhirsync({"sync", "--dir", child, "--watch"});
  EXPECT_EQ(all_off.exit_code, 1);
  EXPECT_THAT(all_off.err, HasSubstr("pulling and pushing are both turned off"));
}

TEST_F(DaemonProcessTest, OnceWithoutASideRunsBothAsTheConfigEnables) {
  StartParent();
  Put(parent_dir_, "down", "Kato");
  const std::string child = InitChild("tablet-4", 60, 30);
  Put(child, "up", "Auma");
  ProcessResult once = Fhirsync({"sync", "--dir", child, "--once", "--json"});
  ASSERT_EQ(once.exit_code, 0) << once.err;
  std::vector<std::string> lines = Lines(once.out);
  ASSERT_EQ(lines.size(), 2u) << once.out;
  EXPECT_THAT(lines[0], HasSubstr("\"applied\":1"));
  EXPECT_THAT(lines[1], HasSubstr("\"sent\":1"));
  EXPECT_TRUE(Holds(child, "Patient/down", "Kato"));
  EXPECT_TRUE(Holds(parent_dir_, "Patient/up", "Auma"));

  // Pull-only (push.enabled false): --once pulls and leaves the outbox.
  StatusOr<NodeConfig> config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->push.enabled = false;
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());
  Put(child, "stays", "Odongo");
  Put(parent_dir_, "down-2", "Apio");
  ProcessResult pull_only = Fhirsync({"sync", "--dir", child, "--once", "--json"});
  ASSERT_EQ(pull_only.exit_code, 0) << pull_only.err;
  ASSERT_EQ(Lines(pull_only.out).size(), 1u) << pull_only.out;
  EXPECT_THAT(pull_only.out, HasSubstr("\"applied\":1"));
  EXPECT_FALSE(Holds(parent_dir_, "Patient/stays", "Odongo"));
}

// The "next try in X s" of the `n`-th failure in a row of `side`, or -1.
double NextTryAfter(const std::string& log, const std::string& side, int n) {
  const std::string key = side + ": failed (" + std::to_string(n) + " in a row)";
  std::size_t at = log.find(key);
  if (at == std::string::npos) return -1;
  const std::string marker = "; next try in ";
  std::size_t next = log.find(marker, at);
  std::size_t end = log.find('\n', at);
  if (next == std::string::npos || next > end) return -1;
  return std::stod(log.substr(next + marker.size()));
}

TEST_F(DaemonProcessTest, AParentThatGoesAwayIsWaitedForWithBackoffAndCaughtUpWith) {
  StartParent();
  Put(parent_dir_, "before", "Wekesa");
  const std::string child = InitChild("tablet-5", 1, 3600);
  ChildProcess daemon;
  StartDaemon(daemon, child);
  ASSERT_TRUE(Eventually(std::chrono::seconds(20),
                         [&] { return Holds(child, "Patient/before", "Wekesa"); }))
      << daemon.Stderr();

  parent_.Stop();
  Put(child, "offline", "Adongo");  // written while the parent is away
  ASSERT_TRUE(Eventually(std::chrono::seconds(30), [&] {
    const std::string log = daemon.Stderr();
    return log.find("pull: failed (3 in a row)") != std::string::npos &&
           log.find("push: failed (1 in a row)") != std::string::npos;
  })) << daemon.Stderr();
  ASSERT_TRUE(daemon.Running()) << daemon.Stderr();
  const std::string away_log = daemon.Stderr();
  EXPECT_THAT(away_log, HasSubstr("warn  pull: failed (1 in a row): UNAVAILABLE"));
  // Backoff: the first retry comes sooner than the 1 s interval... later
  // ones less often (jitter keeps each in [0.5, 1.0] of 1 s, 2 s, 4 s).
  const double first = NextTryAfter(away_log, "pull", 1);
  const double third = NextTryAfter(away_log, "pull", 3);
  EXPECT_GE(first, 0.5) << away_log;
  EXPECT_LE(first, 1.0) << away_log;
  EXPECT_GE(third, 2.0) << away_log;
  EXPECT_LE(third, 4.0) << away_log;
  // While away only the cheap probe is tried: the outbox item was attempted
  // once (the push the write triggered), not on every retry.
  ProcessResult outbox = Fhirsync({"outbox", "--dir", child, "--json"});
  ASSERT_EQ(outbox.exit_code, 0) << outbox.err;
  EXPECT_THAT(outbox.out, HasSubstr("\"attempts\":1,"));
  EXPECT_THAT(outbox.out, HasSubstr("\"id\":\"offline\""));

  // Meanwhile the parent's own store gains a record; then it comes back on
  // the same port.
  Put(parent_dir_, "while-away", "Ouma");
  ASSERT_TRUE(parent_.Restart()) << parent_.error();
  EXPECT_TRUE(Eventually(std::chrono::seconds(60),
                         [&] { return Holds(child, "Patient/while-away", "Ouma"); }))
      << daemon.Stderr();
  EXPECT_TRUE(Eventually(std::chrono::seconds(60),
                         [&] { return Holds(parent_dir_, "Patient/offline", "Adongo"); }))
      << daemon.Stderr();
  ProcessResult stopped = Terminate(daemon);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("info  pull: the parent answers again after"));
  EXPECT_THAT(stopped.out, HasSubstr("push sent 1 in"));
}

TEST_F(DaemonProcessTest, SigtermDuringALargePullStopsPromptlyAndLeavesNothingHalfApplied) {
  std::vector<std::string> import{"import"};
  for (const auto& entry : std::filesystem::directory_iterator(kTestData + "/fhir-r4-bulk")) {
    if (entry.path().extension() == ".ndjson") import.push_back(entry.path().string());
  }
  import.insert(import.end(), {"--dir", parent_dir_});
  ProcessResult imported = Fhirsync(import);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  StartParent();
  const std::string child = InitChild("tablet-6", 60, 30);
  // Small pages, so the pull is long and the signal lands inside it.
  StatusOr<NodeConfig> config = LoadNodeConfig(child);
  ASSERT_TRUE(config.ok());
  config->pull.batch_size = 10;
  config->pull.in_flight = 2;
  ASSERT_TRUE(SaveNodeConfig(child, *config).ok());

  ChildProcess daemon;
  StartDaemon(daemon, child, {"--log-level", "debug", "--json"});
  ASSERT_TRUE(Eventually(std::chrono::seconds(60), [&] {
    const std::string log = daemon.Stderr();
    std::size_t pages = 0;
    for (std::size_t at = log.find("1 page(s)"); at != std::string::npos;
         at = log.find("1 page(s)", at + 1)) {
      ++pages;
    }
    return pages >= 3;
  })) << daemon.Stderr();
  const auto signalled = std::chrono::steady_clock::now();
  ProcessResult stopped = Terminate(daemon);
  const auto took = std::chrono::steady_clock::now() - signalled;
  EXPECT_EQ(stopped.exit_code, 0) << stopped.Describe() << "\n" << stopped.err;
  EXPECT_LT(took, std::chrono::seconds(10));
  rapidjson::Document summary;
  summary.Parse(stopped.out.c_str());
  ASSERT_TRUE(summary.IsObject()) << stopped.out;
  EXPECT_EQ(summary["pull"]["passes"].GetInt64(), 0) << "the pull was cut short";
  const std::int64_t applied = summary["pull"]["applied"].GetInt64();
  const std::int64_t total = LiveResources(parent_dir_);
  EXPECT_GE(applied, 3 * 20);
  EXPECT_LT(applied, total);
  // What the daemon reported applied is exactly what the child holds: each
  // page went in whole, with its cursor.
  EXPECT_EQ(LiveResources(child), applied);

  ProcessResult once = Fhirsync({"sync", "--dir", child, "--once", "--json"});
  ASSERT_EQ(once.exit_code, 0) << once.err;
  EXPECT_THAT(once.out, HasSubstr("\"applied\":" + std::to_string(total - applied) + ","));
  // Now the child holds exactly what the parent holds: every resource, each
  // with the same content (verify compares content hashes of all of them).
  EXPECT_EQ(LiveResources(child), total);
  ProcessResult verify = Fhirsync({"verify", "--dir", child, "--json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("\"in_sync\":true"));
}

}  // namespace
}  // namespace fhirsync::testing
