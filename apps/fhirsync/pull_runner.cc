#include "pull_runner.h"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "fhirsync/base/text_util.h"
#include "fhirsync/parent_identity.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "node.h"
#include "output.h"
#include "progress.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

// Learns the parent's node id on first contact and records it; later,
// refuses a parent that names itself differently (a different node behind
// the same address would make the cursor meaningless). A FHIR server that
// does not name itself is followed under parent.node_id, or an id derived
// from its address (ResolveParentNodeId). A parent that cannot be reached is
// not an error here: the pull itself will say so.
Status CheckParentNodeId(Node& node, const TransportSettings& settings) {
  if (!ParentSpeaksHttp(node.config.parent.url)) {
    return ConfiguredParentNodeId(node.config).status();
  }
  StatusOr<std::string> reported = FetchParentNodeId(ParentEndpointFor(node.config, settings));
  if (!reported.ok()) {
    if (!node.config.parent.node_id.empty() &&
        (reported.status().code() == StatusCode::kUnavailable ||
         reported.status().code() == StatusCode::kDeadlineExceeded)) {
      return Status::Ok();
    }
    return reported.status();
  }
  bool learnt = false;
  FHIRSYNC_ASSIGN_OR_RETURN(std::string node_id,
                            ResolveParentNodeId(node.config, *reported, &learnt));
  if (!learnt) return Status::Ok();
  node.config.parent.node_id = node_id;
  return SaveNodeConfig(node.dir, node.config);
}

Status CheckCanPull(const NodeConfig& config) {
  if (config.parent.url.empty()) {
    return FailedPreconditionError(
        "this node has no parent (parent.url in fhirsync.json; `fhirsync init --parent URL` "
        "sets one)");
  }
  if (!config.pull.enabled) {
    return FailedPreconditionError("pulling is disabled (pull.enabled is false)");
  }
  return Status::Ok();
}

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
  std::cout << line.str() << std::endl;
  if (s.conflicts > 0) {
    std::cout << s.conflicts
              << " resources have local changes not yet pushed: the parent's copies are kept "
                 "as conflicts beside them\n";
  }
}

}  // namespace

StatusOr<std::unique_ptr<SyncPullService>> StartPullService(Node& node,
                                                            const SyncResourceManager* manager,
                                                            int max_pages) {
  FHIRSYNC_RETURN_IF_ERROR(CheckCanPull(node.config));
  FHIRSYNC_ASSIGN_OR_RETURN(TransportSettings settings,
                            TransportSettingsFor(node.config, node.dir));
  FHIRSYNC_RETURN_IF_ERROR(CheckParentNodeId(node, settings));
  PullOptions pull;
  pull.parent_node_id = node.config.parent.node_id;
  pull.feed = node.config.pull.feed;
  pull.types = node.config.pull.types;
  pull.batch_size = node.config.pull.batch_size;
  pull.in_flight = node.config.pull.in_flight;
  pull.max_pages = max_pages;
  return SyncPullService::Create(node.store.get(), manager, pull);
}

int RunPull(const CommandLine& cl, bool json) {
  StatusOr<Node> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (Status can = CheckCanPull(node->config); !can.ok()) return cl.Fail(can);
  StatusOr<std::unique_ptr<SyncResourceManager>> manager = StartTransports(*node);
  if (!manager.ok()) return cl.Fail(manager.status().WithContext("starting the plugins"));
  StatusOr<std::unique_ptr<SyncPullService>> service =
      StartPullService(*node, manager->get(), 0);
  if (!service.ok()) return cl.Fail(service.status());
  StatusOr<PullSummary> summary = [&] {
    ProgressMeter meter("pulling", 0);
    return (*service)->Run([&](const PullSummary& so_far) { meter.Update(so_far.fetched); });
  }();
  if (!summary.ok()) return cl.Fail(summary.status());
  PrintSummary(*summary, node->config.parent.node_id, json);
  return kExitOk;
}

}  // namespace fhirsync::cli
