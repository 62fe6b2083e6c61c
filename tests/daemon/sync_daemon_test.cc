// SyncDaemon on fake steps: its thread, Trigger(), Stop(), the store watch,
// logging and the counters. The schedule's arithmetic is tested on a fake
// clock in sync_schedule_test.cc; here the intervals are either tiny or an
// hour, and every wait polls a condition with a deadline.

#include "fhirsync/sync_daemon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kHour = 3'600'000;

// Polls `done` until it holds or 10 s pass.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Log records, collected from the daemon's thread.
class Records {
 public:
  SyncLogCallback Callback() {
    return [this](const SyncLogRecord& r) {
      std::lock_guard<std::mutex> lock(mutex_);
      records_.push_back(r);
    };
  }
  std::vector<SyncLogRecord> Get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
  }
  bool Has(LogLevel level, const std::string& side, const std::string& words) const {
    for (const SyncLogRecord& r : Get()) {
      if (r.level == level && r.side == side && r.message.find(words) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<SyncLogRecord> records_;
};

// A step that counts its calls and answers what the test scripts.
struct FakeSide {
  std::atomic<int> calls{0};
  std::function<StatusOr<SyncStepResult>(int call)> answer = [](int) {
    return SyncStepResult{};
  };
  SyncStepFn Fn() {
    return [this]() { return answer(++calls); };
  }
};

SyncDaemonOptions HourlyOptions(Records& records) {
  SyncDaemonOptions o;
  o.pull_interval_ms = kHour;
  o.push_interval_ms = kHour;
  o.log_level = LogLevel::kDebug;
  o.log = records.Callback();
  return o;
}

TEST(LogLevelTest, ParsesTheFourNamesAndNamesABadOne) {
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(*ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_STREQ(LogLevelName(LogLevel::kWarn), "warn");
  StatusOr<LogLevel> bad = ParseLogLevel("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown log level 'loud'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("error, warn, info or debug"));
}

TEST(SyncDaemonTest, RefusesToStartWithNothingToRun) {
  SyncDaemonOptions off;
  off.pull_enabled = false;
  off.push_enabled = false;
  SyncDaemon none(nullptr, nullptr, off);
  Status s = none.Start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("both pulling and pushing are turned off"));

  SyncDaemon missing(nullptr, [] { return StatusOr<SyncStepResult>(SyncStepResult{}); }, {});
  s = missing.Start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("an enabled side has no step function"));
}

TEST(SyncDaemonTest, RunsEachSideUntilItsWorkIsDoneThenWaitsForItsInterval) {
  Records records;
  FakeSide pull, push;
  pull.answer = [](int call) {
    SyncStepResult r;
    r.more = call < 3;  // three pages
    r.moved = 10;
    r.detail = "page " + std::to_string(call);
    return StatusOr<SyncStepResult>(r);
  };
  SyncDaemon daemon(pull.Fn(), push.Fn(), HourlyOptions(records));
  ASSERT_TRUE(daemon.Start().ok());
  EXPECT_FALSE(daemon.Start().ok());  // once only
  ASSERT_TRUE(Eventually([&] { return daemon.Report().push.passes == 1; }));
  daemon.Stop();
  EXPECT_EQ(pull.calls.load(), 3);
  EXPECT_EQ(push.calls.load(), 1);
  SyncDaemonReport report = daemon.Report();
  EXPECT_EQ(report.pull.passes, 1);
  EXPECT_EQ(report.pull.steps, 3);
  EXPECT_EQ(report.pull.moved, 30);
  EXPECT_EQ(report.pull.failures, 0);
  EXPECT_TRUE(records.Has(LogLevel::kInfo, "", "started: pull every 3600 s, push every 3600 s"));
  EXPECT_TRUE(records.Has(LogLevel::kDebug, "pull", "page 2"));
  EXPECT_TRUE(records.Has(LogLevel::kInfo, "pull", "applied 30 in 3 step(s)"));
  EXPECT_TRUE(records.Has(LogLevel::kDebug, "push", "nothing new in 1 step(s)"));
  EXPECT_TRUE(records.Has(LogLevel::kInfo, "", "stopped"));
}

TEST(SyncDaemonTest, TriggerPushesPromptlyInsteadOfAtTheInterval) {
  Records records;
  FakeSide pull, push;
  SyncDaemonOptions options = HourlyOptions(records);
  options.pull_enabled = false;
  SyncDaemon daemon(nullptr, push.Fn(), options);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return push.calls.load() == 1; }));
  daemon.Trigger();
  ASSERT_TRUE(Eventually([&] { return push.calls.load() == 2; }));
  daemon.Trigger();
  ASSERT_TRUE(Eventually([&] { return push.calls.load() == 3; }));
  daemon.Stop();
  EXPECT_EQ(daemon.Report().triggers, 2);
  EXPECT_EQ(pull.calls.load(), 0);
  EXPECT_TRUE(records.Has(LogLevel::kInfo, "", "pull off, push every 3600 s"));
}

TEST(SyncDaemonTest, StopLetsTheRunningStepFinishAndStartsNoOther) {
  Records records;
  FakeSide pull, push;
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> finished{0};
  pull.answer = [&](int) {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return release; });
    ++finished;
    SyncStepResult r;
    r.more = true;  // a long pull: always another page
    return StatusOr<SyncStepResult>(r);
  };
  SyncDaemonOptions options = HourlyOptions(records);
  options.push_enabled = false;
  SyncDaemon daemon(pull.Fn(), nullptr, options);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return pull.calls.load() == 1; }));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    daemon.Stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(stopped.load()) << "Stop() returned while a step was running";
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
  }
  cv.notify_all();
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_EQ(pull.calls.load(), 1);
  EXPECT_EQ(finished.load(), 1);
  daemon.Stop();  // idempotent
}

TEST(SyncDaemonTest, BacksOffAfterFailuresLogsThemAndRecovers) {
  Records records;
  FakeSide pull;
  pull.answer = [](int call) -> StatusOr<SyncStepResult> {
    if (call <= 3) return UnavailableError("connection refused by 127.0.0.1");
    if (call == 4) return FailedPreconditionError("parent names itself 'other'");
    SyncStepResult r;
    r.moved = 1;
    return r;
  };
  SyncDaemonOptions options = HourlyOptions(records);
  options.push_enabled = false;
  options.backoff_base_ms = 20;
  options.backoff_max_ms = 40;
  SyncDaemon daemon(pull.Fn(), nullptr, options);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return daemon.Report().pull.passes == 1; }));
  const auto took = std::chrono::steady_clock::now() - start;
  daemon.Stop();
  // Four retries of at least half of 20, 40, 40, 40 ms; far below the hour.
  EXPECT_GE(took, std::chrono::milliseconds(60));
  SyncDaemonReport report = daemon.Report();
  EXPECT_EQ(report.pull.failures, 4);
  EXPECT_EQ(report.pull.failing, 0);
  EXPECT_THAT(report.pull.last_error, HasSubstr("parent names itself 'other'"));
  EXPECT_TRUE(records.Has(LogLevel::kWarn, "pull", "failed (1 in a row)"));
  EXPECT_TRUE(records.Has(LogLevel::kWarn, "pull", "connection refused by 127.0.0.1"));
  EXPECT_TRUE(records.Has(LogLevel::kWarn, "pull", "failed (3 in a row)"));
  EXPECT_TRUE(records.Has(LogLevel::kError, "pull", "failed (4 in a row)"));
  EXPECT_TRUE(records.Has(LogLevel::kInfo, "pull", "answers again after 4 failed attempt(s)"));
}

TEST(SyncDaemonTest, WhileTheParentIsAwayOnlyTheProbeIsTried) {
  Records records;
  FakeSide push;
  push.answer = [](int call) -> StatusOr<SyncStepResult> {
    if (call == 1) return UnavailableError("connection refused");
    SyncStepResult r;
    r.moved = 3;
    return r;
  };
  std::atomic<int> probes{0};
  SyncDaemonOptions options = HourlyOptions(records);
  options.pull_enabled = false;
  options.backoff_base_ms = 1;
  options.backoff_max_ms = 2;
  options.probe = [&]() -> Status {
    // Away for four probes, then back.
    return ++probes <= 4 ? UnavailableError("still refused") : Status::Ok();
  };
  SyncDaemon daemon(nullptr, push.Fn(), options);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return daemon.Report().push.passes == 1; }));
  daemon.Stop();
  EXPECT_EQ(probes.load(), 5);
  EXPECT_EQ(push.calls.load(), 2) << "the step ran only before the outage and after it";
  SyncDaemonReport report = daemon.Report();
  EXPECT_EQ(report.push.failures, 5);
  EXPECT_EQ(report.push.moved, 3);
  EXPECT_TRUE(records.Has(LogLevel::kWarn, "push", "failed (5 in a row): UNAVAILABLE: still refused"));
}

TEST(SyncDaemonTest, TheProbeIsNotAskedWhileAllIsWell) {
  Records records;
  FakeSide pull;
  std::atomic<int> probes{0};
  SyncDaemonOptions options = HourlyOptions(records);
  options.push_enabled = false;
  options.probe = [&] {
    ++probes;
    return Status::Ok();
  };
  SyncDaemon daemon(pull.Fn(), nullptr, options);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return daemon.Report().pull.passes == 1; }));
  daemon.Stop();
  EXPECT_EQ(probes.load(), 0);
}

TEST(SyncDaemonTest, LogLevelKeepsQuieterRecordsFromTheCallback) {
  Records records;
  FakeSide pull;
  pull.answer = [](int call) -> StatusOr<SyncStepResult> {
    if (call == 1) return UnavailableError("parent away");
    if (call == 2) return InternalError("disk on fire");
    SyncStepResult r;
    r.moved = 2;
    return r;
  };
  SyncDaemonOptions options = HourlyOptions(records);
  options.push_enabled = false;
  options.backoff_base_ms = 1;
  options.log_level = LogLevel::kError;
  SyncDaemon daemon(pull.Fn(), nullptr, options);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return daemon.Report().pull.passes == 1; }));
  daemon.Stop();
  std::vector<SyncLogRecord> got = records.Get();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].level, LogLevel::kError);
  EXPECT_THAT(got[0].message, HasSubstr("disk on fire"));
}

TEST(SyncDaemonTest, AWriteToTheWatchedStoreFromAnotherConnectionTriggersAPush) {
  testing::TempDir tmp("fhirsync-daemon");
  StoreConfig config;
  auto watched = OpenLocalStore(config, tmp.path(), "tablet");
  ASSERT_TRUE(watched.ok()) << watched.status();
  auto writer = OpenLocalStore(config, tmp.path(), "tablet");  // "another process"
  ASSERT_TRUE(writer.ok()) << writer.status();
  Records records;
  FakeSide pull, push;
  SyncDaemonOptions options = HourlyOptions(records);
  options.watch_store = watched->get();
  options.watch_period_ms = 20;
  SyncDaemon daemon(pull.Fn(), push.Fn(), options);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(Eventually([&] { return push.calls.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a few quiet polls
  EXPECT_EQ(push.calls.load(), 1) << "nothing was written, nothing to push";
  WriteOp op;
  op.type = "Patient";
  op.id = "p1";
  op.body = R"({"resourceType":"Patient","id":"p1"})";
  ASSERT_TRUE((*writer)->Put(op).ok());
  ASSERT_TRUE(Eventually([&] { return push.calls.load() == 2; }));
  daemon.Stop();
  EXPECT_EQ(pull.calls.load(), 1);
  EXPECT_EQ(daemon.Report().triggers, 1);
  EXPECT_TRUE(records.Has(LogLevel::kDebug, "push", "local change noticed"));
}

}  // namespace
}  // namespace fhirsync
