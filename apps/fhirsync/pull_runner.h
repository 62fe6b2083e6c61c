// The pull side of `fhirsync sync`: StartPullService learns or checks the
// parent's node id and builds SyncPullService from the node's config (used
// by `--once` here and by the daemon, watch_runner.cc); RunPull is the
// one-shot `sync --pull --once` with its progress display and summary.
//
// Thread safety: StartPullService may run on the daemon's thread; nothing
// here is shared.

#ifndef FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_
#define FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_

#include <memory>

#include "command.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_pull_service.h"
#include "fhirsync/sync_resource_manager.h"
#include "node.h"

namespace fhirsync::cli {

// Checks the node's parent (learning and saving parent.node_id on first
// contact) and creates its pull service over `manager` (borrowed) with
// PullOptions::max_pages = `max_pages`. FailedPrecondition when the node has
// no parent, pulling is disabled, or the parent names itself differently;
// Unavailable when the parent's id is still unknown and it cannot be
// reached; the service's errors otherwise.
StatusOr<std::unique_ptr<SyncPullService>> StartPullService(Node& node,
                                                            const SyncResourceManager* manager,
                                                            int max_pages);

// One pull until the feed is drained, with progress on a terminal and a
// summary on stdout (`json`: one JSON line). Returns the exit code: kExitOk,
// or kExitFailure after printing the error.
int RunPull(const CommandLine& cl, bool json);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_
