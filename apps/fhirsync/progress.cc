#include "progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace fhirsync::cli {

ProgressMeter::ProgressMeter(std::string what, std::int64_t total)
    : what_(std::move(what)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::seconds(1)) {}

ProgressMeter::~ProgressMeter() { Clear(); }

std::string ProgressMeter::Format(std::int64_t done, std::int64_t total, double seconds) {
  std::string text = std::to_string(done);
  if (total > 0) {
    text += "/" + std::to_string(total) + " (" + std::to_string(done * 100 / total) + "%)";
  }
  if (seconds > 0.05 && done > 0) {
    double rate = done / seconds;
    text += "  " + std::to_string(static_cast<std::int64_t>(std::llround(rate))) + "/s";
    if (total > 0 && done < total) {
      std::int64_t eta = static_cast<std::int64_t>(std::ceil((total - done) / rate));
      text += "  ETA ";
      text += eta >= 60 ? std::to_string(eta / 60) + "m" + std::to_string(eta % 60) + "s"
                        : std::to_string(eta) + "s";
    }
  }
  return text;
}

void ProgressMeter::Update(std::int64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done != total_) return;
  last_draw_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  std::string line = what_ + " " + Format(done, total_, seconds);
  std::size_t width = line.size();
  if (width < drawn_width_) line.append(drawn_width_ - width, ' ');
  drawn_width_ = width;
  std::fprintf(stderr, "\r%s", line.c_str());
  std::fflush(stderr);
}

void ProgressMeter::Clear() {
  if (!enabled_ || drawn_width_ == 0) return;
  std::fprintf(stderr, "\r%s\r", std::string(drawn_width_, ' ').c_str());
  std::fflush(stderr);
  drawn_width_ = 0;
}

}  // namespace fhirsync::cli
