#include "sync/sync_schedule.h"

#include <algorithm>
#include <limits>
#include <random>

#include "fhirsync/sync_push_service.h"

namespace fhirsync {

SyncSchedule::SyncSchedule(SyncScheduleOptions options, std::int64_t now_ms)
    : options_(std::move(options)) {
  if (!options_.jitter_unit) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    options_.jitter_unit = [engine] {
      return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
    };
  }
  state(SyncSide::kPull) = {options_.pull_enabled, std::max<std::int64_t>(1, options_.pull_interval_ms),
                            now_ms, 0, false};
  state(SyncSide::kPush) = {options_.push_enabled, std::max<std::int64_t>(1, options_.push_interval_ms),
                            now_ms, 0, false};
}

std::optional<SyncSide> SyncSchedule::Due(std::int64_t now_ms) const {
  std::optional<SyncSide> best;
  for (SyncSide side : {SyncSide::kPull, SyncSide::kPush}) {
    const SideState& s = state(side);
    if (!s.enabled || s.due_ms > now_ms) continue;
    if (!best || s.due_ms < state(*best).due_ms) best = side;
  }
  return best;
}

std::int64_t SyncSchedule::NextDueMs() const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const SideState& s : sides_) {
    if (s.enabled) next = std::min(next, s.due_ms);
  }
  return next;
}

void SyncSchedule::Succeeded(SyncSide side, std::int64_t now_ms, bool more,
                             std::int64_t again_in_ms) {
  SideState& s = state(side);
  s.failures = 0;
  s.transient = false;
  std::int64_t wait = s.interval_ms;
  if (again_in_ms > 0) wait = std::min(wait, again_in_ms);
  s.due_ms = more ? now_ms : now_ms + wait;
  SideState& other = state(side == SyncSide::kPull ? SyncSide::kPush : SyncSide::kPull);
  if (other.enabled && other.failures > 0 && other.transient) other.due_ms = std::min(other.due_ms, now_ms);
}

std::int64_t SyncSchedule::Failed(SyncSide side, std::int64_t now_ms, bool transient) {
  SideState& s = state(side);
  ++s.failures;
  s.transient = transient;
  const std::int64_t delay = PushBackoffMs(s.failures, options_.backoff_base_ms,
                                           options_.backoff_max_ms, options_.jitter_unit());
  s.due_ms = now_ms + delay;
  return delay;
}

void SyncSchedule::Trigger(SyncSide side, std::int64_t now_ms) {
  SideState& s = state(side);
  if (!s.enabled || s.failures > 0) return;
  s.due_ms = std::min(s.due_ms, now_ms);
}

}  // namespace fhirsync
