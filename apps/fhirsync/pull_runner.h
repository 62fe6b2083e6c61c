// RunPull: the `sync --pull` loop of the fhirsync program: opens the node,
// learns or checks the parent's node id, starts the plugins and runs
// SyncPullService once or on its interval, showing progress and summaries.
//
// Thread safety: the program is single-threaded (the service uses its own
// threads for requests in flight).

#ifndef FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_
#define FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_

#include "command.h"

namespace fhirsync::cli {

struct PullRunOptions {
  bool once = false;
  bool json = false;
};

// Returns the exit code: kExitOk, or kExitFailure after printing the error.
int RunPull(const CommandLine& cl, const PullRunOptions& options);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_
