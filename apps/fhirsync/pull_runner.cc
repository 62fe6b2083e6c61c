#include "pull_runner.h"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "output.h"
#include "progress.h"

namespace fhirsync::cli {
namespace {

void PrintSummary(const PullSummary& s, const std::string& parent, bool json) {
  const double seconds = static_cast<double>(s.elapsed_ms) / 1000.0;
  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("parent_node_id", parent);
    out.Field("pages", s.pages);
    out.Field("entries", s.entries);
    out.Field("fetched", s.fetched);
    out.Field("requests", s.requests);
    out.Field("applied", s.applied);
    out.Field("unchanged", s.unchanged);
    out.Field("skipped", s.skipped);
    out.Field("conflicts", s.conflicts);
    out.Field("rejected", s.rejected);
    out.Field("elapsed_ms", s.elapsed_ms);
    out.Field("at_head", s.at_head);
    out.Field("from_snapshot", s.from_snapshot);
    if (s.from_snapshot) {
      out.Field("snapshot_files", s.snapshot_files);
      out.Field("snapshot_bytes", s.snapshot_bytes);
    }
    out.EndObject();
    out.Print();
    return;
  }
  std::ostringstream line;
  line << "pulled from " << parent << ": fetched " << s.fetched << ", applied " << s.applied
       << ", unchanged " << s.unchanged << ", skipped " << s.skipped << ", conflicts "
       << s.conflicts << ", rejected " << s.rejected << " in " << std::fixed
       << std::setprecision(2) << seconds << " s";
  if (seconds > 0 && s.fetched > 0) {
    line << " (" << static_cast<std::int64_t>(static_cast<double>(s.fetched) / seconds)
         << " resources/s, " << s.requests << " requests)";
  }
  if (s.from_snapshot) {
    line << "; began with the parent's snapshot (" << s.snapshot_files << " files, "
         << s.snapshot_bytes << " bytes), then its feed after it";
  }
  std::cout << line.str() << std::endl;
  if (s.conflicts > 0) {
    std::cout << s.conflicts
              << " resources have local changes not yet pushed: the parent's copies are kept "
                 "as conflicts beside them\n";
  }
}

}  // namespace

int RunPull(const CommandLine& cl, Node& node, bool json) {
  StatusOr<PullSummary> summary = [&] {
    ProgressMeter meter("pulling", 0);
    PullRunOptions options;
    options.progress = [&](const PullSummary& so_far) { meter.Update(so_far.fetched); };
    return node.Pull(options);
  }();
  if (!summary.ok()) return cl.Fail(summary.status());
  PrintSummary(*summary, node.config().parent.node_id, json);
  return kExitOk;
}

}  // namespace fhirsync::cli
