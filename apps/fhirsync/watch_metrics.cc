#include "watch_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <fstream>

namespace fhirsync::cli {

namespace {

double Seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

}  // namespace

WatchMetrics::WatchMetrics(std::string path) : path_(std::move(path)) {}

void WatchMetrics::PullLagMeasured(const StatusOr<PullLag>& lag, std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  lag_known_ = lag.ok();
  if (!lag.ok()) return;
  lag_changes_ = lag->changes;
  lag_oldest_ms_ = lag->changes > 0 ? lag->oldest_ms : 0;
  lag_complete_ = lag->complete;
  lag_measured_ms_ = now_ms;
}

void WatchMetrics::StepDone(const std::string& side, const StatusOr<SyncStepResult>& result,
                            std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  Side& s = side == "pull" ? pull_ : push_;
  if (result.ok()) {
    s.last_success_ms = now_ms;
    ++s.ok_steps;
    s.failing = 0;
    s.moved += result->moved;
    if (side == "pull" && !result->more) {
      // The pass read the parent's feed to its end: nothing is left behind.
      lag_known_ = true;
      lag_changes_ = 0;
      lag_oldest_ms_ = 0;
      lag_complete_ = true;
      lag_measured_ms_ = now_ms;
    }
  } else {
    ++s.failed_steps;
    ++s.failing;
  }
  // A failed write is seen by the next scrape as a stale timestamp; the
  // daemon goes on either way.
  (void)WriteLocked(now_ms);
}

Status WatchMetrics::Write(std::int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  return WriteLocked(now_ms);
}

Status WatchMetrics::WriteLocked(std::int64_t now_ms) {
  prometheus::Registry registry;
  auto gauge = [&](const char* name, const char* help) -> prometheus::Family<prometheus::Gauge>& {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
  };
  auto counter = [&](const char* name,
                     const char* help) -> prometheus::Family<prometheus::Counter>& {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
  };
  gauge("fhirsync_sync_watch_updated_timestamp_seconds",
        "When sync --watch last wrote these figures (after every step)")
      .Add({})
      .Set(Seconds(now_ms));
  auto& success = gauge("fhirsync_sync_last_success_timestamp_seconds",
                        "When a step of the side last got through to the parent; 0: not yet");
  auto& failing = gauge("fhirsync_sync_failing_steps",
                        "Failed steps in a row of the side now (0: healthy)");
  auto& steps = counter("fhirsync_sync_steps_total", "Steps of the side since sync --watch started");
  auto& moved = counter("fhirsync_sync_moved_total",
                        "Resources applied (pull) or accepted by the parent (push) since start");
  for (const auto& [name, side] : {std::pair<const char*, const Side*>{"pull", &pull_},
                                   std::pair<const char*, const Side*>{"push", &push_}}) {
    success.Add({{"side", name}}).Set(Seconds(side->last_success_ms));
    failing.Add({{"side", name}}).Set(static_cast<double>(side->failing));
    steps.Add({{"side", name}, {"result", "ok"}}).Increment(static_cast<double>(side->ok_steps));
    steps.Add({{"side", name}, {"result", "failed"}})
        .Increment(static_cast<double>(side->failed_steps));
    moved.Add({{"side", name}}).Increment(static_cast<double>(side->moved));
  }
  if (lag_known_) {
    gauge("fhirsync_pull_lag_changes",
          "Changes on the parent's feed not pulled yet, at the last measurement")
        .Add({})
        .Set(static_cast<double>(lag_changes_));
    gauge("fhirsync_pull_lag_seconds",
          "Age of the oldest change not pulled yet, now (0: none left at the last measurement)")
        .Add({})
        .Set(lag_oldest_ms_ > 0 ? Seconds(now_ms - lag_oldest_ms_) : 0.0);
    gauge("fhirsync_pull_lag_complete",
          "1 when the last measurement read the feed to its end; 0: the changes are a lower bound")
        .Add({})
        .Set(lag_complete_ ? 1 : 0);
    gauge("fhirsync_pull_lag_measured_timestamp_seconds", "When the pull lag was last measured")
        .Add({})
        .Set(Seconds(lag_measured_ms_));
  }
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  const std::string temporary = path_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return UnavailableError("cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    return UnavailableError("cannot replace " + path_);
  }
  return Status::Ok();
}

}  // namespace fhirsync::cli
