// ProgressMeter: a one-line progress display (count, rate, ETA) on stderr,
// shown only when stderr is a terminal so logs and pipes stay clean.
//
// Thread safety: one meter per thread.

#ifndef FHIRSYNC_APPS_FHIRSYNC_PROGRESS_H_
#define FHIRSYNC_APPS_FHIRSYNC_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace fhirsync::cli {

class ProgressMeter {
 public:
  // `what`: "importing"; `total`: the count Update() will reach (0 if
  // unknown: no percentage or ETA then).
  ProgressMeter(std::string what, std::int64_t total);
  ~ProgressMeter();  // clears the line
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // Redraws at most ten times a second.
  void Update(std::int64_t done);
  // Removes the line (before printing anything else on stderr).
  void Clear();

  bool enabled() const { return enabled_; }

  // "1200/5945 (20%)  3400/s  ETA 1s": the text a redraw shows.
  static std::string Format(std::int64_t done, std::int64_t total, double seconds);

 private:
  std::string what_;
  std::int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::size_t drawn_width_ = 0;
};

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_PROGRESS_H_
