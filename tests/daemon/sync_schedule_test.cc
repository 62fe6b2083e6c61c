// SyncSchedule on a fake clock: times are plain numbers the test advances,
// the jitter is fixed, nothing sleeps.

#include "sync/sync_schedule.h"

#include <gtest/gtest.h>

namespace fhirsync {
namespace {

constexpr std::int64_t kStart = 1'000'000;

SyncScheduleOptions Options(double jitter = 1.0) {
  SyncScheduleOptions o;
  o.pull_interval_ms = 60'000;
  o.push_interval_ms = 30'000;
  o.backoff_base_ms = 1'000;
  o.backoff_max_ms = 300'000;
  o.jitter_unit = [jitter] { return jitter; };
  return o;
}

TEST(SyncScheduleTest, BothSidesDueAtStartPullFirst) {
  SyncSchedule s(Options(), kStart);
  EXPECT_EQ(s.Due(kStart), SyncSide::kPull);
  s.Succeeded(SyncSide::kPull, kStart + 10, false);
  EXPECT_EQ(s.Due(kStart + 10), SyncSide::kPush);
  s.Succeeded(SyncSide::kPush, kStart + 20, false);
  EXPECT_EQ(s.Due(kStart + 20), std::nullopt);
  EXPECT_EQ(s.NextDueMs(), kStart + 20 + 30'000);
}

TEST(SyncScheduleTest, EachSideRunsOnItsOwnInterval) {
  SyncSchedule s(Options(), kStart);
  s.Succeeded(SyncSide::kPull, kStart, false);
  s.Succeeded(SyncSide::kPush, kStart, false);
  EXPECT_EQ(s.Due(kStart + 29'999), std::nullopt);
  EXPECT_EQ(s.Due(kStart + 30'000), SyncSide::kPush);
  s.Succeeded(SyncSide::kPush, kStart + 30'000, false);
  EXPECT_EQ(s.Due(kStart + 59'999), std::nullopt);
  EXPECT_EQ(s.Due(kStart + 60'000), SyncSide::kPull);
  s.Succeeded(SyncSide::kPull, kStart + 60'000, false);
  EXPECT_EQ(s.Due(kStart + 60'000), SyncSide::kPush);
}

TEST(SyncScheduleTest, ADisabledSideNeverRunsAndIgnoresTriggers) {
  SyncScheduleOptions o = Options();
  o.push_enabled = false;
  SyncSchedule s(o, kStart);
  EXPECT_FALSE(s.enabled(SyncSide::kPush));
  EXPECT_EQ(s.Due(kStart), SyncSide::kPull);
  s.Succeeded(SyncSide::kPull, kStart, false);
  s.Trigger(SyncSide::kPush, kStart + 1);
  EXPECT_EQ(s.Due(kStart + 59'000), std::nullopt);
  EXPECT_EQ(s.NextDueMs(), kStart + 60'000);

  o = Options();
  o.pull_enabled = false;
  o.push_enabled = false;
  SyncSchedule none(o, kStart);
  EXPECT_EQ(none.Due(kStart + 1'000'000), std::nullopt);
  EXPECT_EQ(none.NextDueMs(), INT64_MAX);
}

TEST(SyncScheduleTest, WorkLeftRunsAgainAtOnce) {
  SyncSchedule s(Options(), kStart);
  s.Succeeded(SyncSide::kPush, kStart, false);
  for (int page = 1; page <= 3; ++page) {
    ASSERT_EQ(s.Due(kStart + page), SyncSide::kPull) << page;
    s.Succeeded(SyncSide::kPull, kStart + page, true);
  }
  s.Succeeded(SyncSide::kPull, kStart + 4, false);
  EXPECT_EQ(s.DueMs(SyncSide::kPull), kStart + 4 + 60'000);
}

TEST(SyncScheduleTest, WorkWaitingSoonerThanTheIntervalBringsTheSideForward) {
  SyncSchedule s(Options(), kStart);
  s.Succeeded(SyncSide::kPull, kStart, false);
  s.Succeeded(SyncSide::kPush, kStart, false, 4'000);  // an item retries in 4 s
  EXPECT_EQ(s.DueMs(SyncSide::kPush), kStart + 4'000);
  s.Succeeded(SyncSide::kPush, kStart + 4'000, false, 90'000);  // later than the interval
  EXPECT_EQ(s.DueMs(SyncSide::kPush), kStart + 4'000 + 30'000);
}

TEST(SyncScheduleTest, BackoffStartsSoonerThanTheIntervalDoublesAndIsCapped) {
  SyncSchedule s(Options(1.0), kStart);  // jitter factor 1.0: the full delay
  std::int64_t now = kStart;
  const std::int64_t expected[] = {1'000, 2'000, 4'000, 8'000, 16'000, 32'000, 64'000,
                                   128'000, 256'000, 300'000, 300'000};
  for (std::int64_t delay : expected) {
    EXPECT_EQ(s.Failed(SyncSide::kPull, now, true), delay);
    EXPECT_EQ(s.DueMs(SyncSide::kPull), now + delay);
    now += delay;
  }
  EXPECT_EQ(s.failures(SyncSide::kPull), 11);
  // Success resets it: the next failure starts over at the base.
  s.Succeeded(SyncSide::kPull, now, false);
  EXPECT_EQ(s.failures(SyncSide::kPull), 0);
  EXPECT_EQ(s.DueMs(SyncSide::kPull), now + 60'000);
  EXPECT_EQ(s.Failed(SyncSide::kPull, now, true), 1'000);
}

TEST(SyncScheduleTest, JitterScalesTheDelayIntoItsLowerHalf) {
  SyncSchedule low(Options(0.0), kStart);
  EXPECT_EQ(low.Failed(SyncSide::kPush, kStart, true), 500);
  EXPECT_EQ(low.Failed(SyncSide::kPush, kStart, true), 1'000);
  SyncSchedule mid(Options(0.5), kStart);
  EXPECT_EQ(mid.Failed(SyncSide::kPush, kStart, true), 750);
  // The default jitter is random but stays within [0.5, 1.0] of the delay.
  SyncScheduleOptions o = Options();
  o.jitter_unit = nullptr;
  SyncSchedule random(o, kStart);
  for (int i = 0; i < 5; ++i) random.Failed(SyncSide::kPush, kStart, true);
  const std::int64_t delay = random.Failed(SyncSide::kPush, kStart, true);  // 6th: 32 s
  EXPECT_GE(delay, 16'000);
  EXPECT_LE(delay, 32'000);
}

TEST(SyncScheduleTest, TriggerPushesAtOnceButNotDuringBackoff) {
  SyncSchedule s(Options(), kStart);
  s.Succeeded(SyncSide::kPull, kStart, false);
  s.Succeeded(SyncSide::kPush, kStart, false);
  s.Trigger(SyncSide::kPush, kStart + 5'000);
  EXPECT_EQ(s.Due(kStart + 5'000), SyncSide::kPush);
  // A trigger never delays a side that is already due earlier.
  s.Trigger(SyncSide::kPush, kStart + 6'000);
  EXPECT_EQ(s.DueMs(SyncSide::kPush), kStart + 5'000);

  s.Failed(SyncSide::kPush, kStart + 7'000, true);  // due at +8 s
  s.Trigger(SyncSide::kPush, kStart + 7'100);
  EXPECT_EQ(s.Due(kStart + 7'100), std::nullopt);
  EXPECT_EQ(s.DueMs(SyncSide::kPush), kStart + 8'000);
}

TEST(SyncScheduleTest, ATriggerDuringALongPullIsServedBeforeItsNextPage) {
  SyncSchedule s(Options(), kStart);
  s.Succeeded(SyncSide::kPush, kStart, false);
  s.Succeeded(SyncSide::kPull, kStart + 100, true);  // page 1
  s.Trigger(SyncSide::kPush, kStart + 150);           // noticed during page 2
  s.Succeeded(SyncSide::kPull, kStart + 200, true);  // page 2 ends
  EXPECT_EQ(s.Due(kStart + 200), SyncSide::kPush);
  s.Succeeded(SyncSide::kPush, kStart + 210, false);
  EXPECT_EQ(s.Due(kStart + 210), SyncSide::kPull);
}

TEST(SyncScheduleTest, ASuccessBringsTheOtherSideForwardAfterATransientFailure) {
  SyncSchedule s(Options(), kStart);
  for (int i = 0; i < 6; ++i) s.Failed(SyncSide::kPush, kStart, true);  // due in 32 s
  s.Succeeded(SyncSide::kPull, kStart + 2'000, false);  // the parent is back
  EXPECT_EQ(s.Due(kStart + 2'000), SyncSide::kPush);
  // Its failure count stays until it succeeds itself.
  EXPECT_EQ(s.failures(SyncSide::kPush), 6);
}

TEST(SyncScheduleTest, APermanentFailureIsNotBroughtForward) {
  SyncSchedule s(Options(), kStart);
  const std::int64_t delay = s.Failed(SyncSide::kPush, kStart, false);  // e.g. paused (403)
  s.Succeeded(SyncSide::kPull, kStart + 10, false);
  EXPECT_EQ(s.Due(kStart + 10), std::nullopt);
  EXPECT_EQ(s.DueMs(SyncSide::kPush), kStart + delay);
}

}  // namespace
}  // namespace fhirsync
