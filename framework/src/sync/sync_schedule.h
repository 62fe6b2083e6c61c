// SyncSchedule: when each side of a sync daemon (pull, push) runs next.
// Pure bookkeeping over times the caller passes in, so the rules are tested
// with a fake clock and no sleeping; SyncDaemon drives it with the real one.
//
// The rules:
//   - an enabled side is due at once when the schedule starts;
//   - a run that leaves work (more pages, more outbox rounds) is due again
//     at once, so Stop() can act between pages;
//   - a run that finishes is due again after its interval (or sooner when
//     it says work will be waiting then), and a success clears the side's
//     failures;
//   - a failed run is retried after an exponential backoff with jitter
//     (PushBackoffMs: base * 2^(failures-1), capped, scaled into
//     [0.5, 1.0] of that): sooner than the interval at first, less often
//     while the parent stays away;
//   - a success of one side means the parent answers again, so the other
//     side, if it backs off after a transient failure (unreachable,
//     timeout), is due at once: it catches up promptly;
//   - Trigger() makes a side due at once, except while it backs off: a
//     host's write must not hammer a parent that is down;
//   - of two due sides, the one due longer runs first (a trigger during a
//     long pull is served before the pull's next page); on a tie, pull.
//
// Thread safety: none; the owner serializes calls.

#ifndef FHIRSYNC_SRC_SYNC_SYNC_SCHEDULE_H_
#define FHIRSYNC_SRC_SYNC_SYNC_SCHEDULE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

namespace fhirsync {

enum class SyncSide { kPull = 0, kPush = 1 };

struct SyncScheduleOptions {
  bool pull_enabled = true;
  bool push_enabled = true;
  std::int64_t pull_interval_ms = 60'000;
  std::int64_t push_interval_ms = 30'000;
  std::int64_t backoff_base_ms = 1'000;
  std::int64_t backoff_max_ms = 5 * 60'000;
  // A uniform number in [0, 1] per failure: the jitter. Default: random.
  std::function<double()> jitter_unit;
};

class SyncSchedule {
 public:
  SyncSchedule(SyncScheduleOptions options, std::int64_t now_ms);

  bool enabled(SyncSide side) const { return state(side).enabled; }
  // The side that should run at `now_ms`, or nullopt when none is due.
  std::optional<SyncSide> Due(std::int64_t now_ms) const;
  // The earliest time a side is due; INT64_MAX when both are disabled.
  std::int64_t NextDueMs() const;
  std::int64_t DueMs(SyncSide side) const { return state(side).due_ms; }
  // Consecutive failures of the side (0 after a success).
  int failures(SyncSide side) const { return state(side).failures; }
  // Whether the side's last failure was transient (false after a success).
  bool last_failure_transient(SyncSide side) const { return state(side).transient; }

  // A run of `side` ended at `now_ms`. `more`: work remains. `again_in_ms`
  // > 0: run again after that long if it is sooner than the interval.
  void Succeeded(SyncSide side, std::int64_t now_ms, bool more, std::int64_t again_in_ms = 0);
  // A run of `side` failed at `now_ms`; `transient`: the parent could not
  // be reached or timed out. Returns the delay chosen.
  std::int64_t Failed(SyncSide side, std::int64_t now_ms, bool transient);
  // Asks for a prompt run of `side` (ignored while it backs off or when it
  // is disabled).
  void Trigger(SyncSide side, std::int64_t now_ms);

 private:
  struct SideState {
    bool enabled = false;
    std::int64_t interval_ms = 0;
    std::int64_t due_ms = 0;
    int failures = 0;
    bool transient = false;  // the last failure was
  };
  SideState& state(SyncSide side) { return sides_[static_cast<int>(side)]; }
  const SideState& state(SyncSide side) const { return sides_[static_cast<int>(side)]; }

  SyncScheduleOptions options_;
  std::array<SideState, 2> sides_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_SRC_SYNC_SYNC_SCHEDULE_H_
