// WatchMetrics: the figures of a running `sync --watch` for monitoring
// (docs/operator-guide.md, "Monitoring"). After each pull or push step the
// daemon rewrites <node>/sync-watch.prom (Prometheus text exposition,
// replaced atomically by rename), which the node's `serve` adds to its
// GET /metrics and which node_exporter's textfile collector can read too.
//
// Pull lag is measured at the start of each pull pass
// (SyncPullService::MeasureLag within a short budget) and is 0 once a pass
// has reached the end of the parent's feed; between passes it says what the
// last measurement said.
//
// Thread safety: every method may be called from any thread (one mutex).

#ifndef FHIRSYNC_APPS_FHIRSYNC_WATCH_METRICS_H_
#define FHIRSYNC_APPS_FHIRSYNC_WATCH_METRICS_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "fhirsync/status.h"
#include "fhirsync/sync_daemon.h"
#include "fhirsync/sync_pull_service.h"

namespace fhirsync::cli {

// The file's name inside the node folder.
inline constexpr char kWatchMetricsFile[] = "sync-watch.prom";

class WatchMetrics {
 public:
  // `path`: where the figures are written (the node folder's kWatchMetricsFile).
  explicit WatchMetrics(std::string path);

  // A lag measurement at the start of a pull pass (an error: lag unknown).
  void PullLagMeasured(const StatusOr<PullLag>& lag, std::int64_t now_ms);
  // One step of `side` ("pull" or "push") finished with `result`; writes the
  // file. A pull step that is not `more` reached the end of the feed.
  void StepDone(const std::string& side, const StatusOr<SyncStepResult>& result,
                std::int64_t now_ms);

  // The last write's error (the daemon logs it once and goes on).
  Status Write(std::int64_t now_ms);

 private:
  struct Side {
    std::int64_t last_success_ms = 0;
    std::int64_t ok_steps = 0;
    std::int64_t failed_steps = 0;
    std::int64_t failing = 0;  // failures in a row
    std::int64_t moved = 0;
  };
  Status WriteLocked(std::int64_t now_ms);

  const std::string path_;
  std::mutex mutex_;
  Side pull_;
  Side push_;
  bool lag_known_ = false;
  std::int64_t lag_changes_ = 0;
  std::int64_t lag_oldest_ms_ = 0;  // 0: none or unknown
  bool lag_complete_ = true;
  std::int64_t lag_measured_ms_ = 0;
};

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_WATCH_METRICS_H_
