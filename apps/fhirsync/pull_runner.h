// RunPull: `fhirsync sync --pull --once`, the one-shot pull (Node::Pull)
// with its progress display and summary.
//
// Thread safety: none needed; the program is single-threaded here.

#ifndef FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_
#define FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_

#include "command.h"
#include "fhirsync/node.h"

namespace fhirsync::cli {

// One pull of `node` until the feed is drained, with progress on a
// terminal and a summary on stdout (`json`: one JSON line). Returns the
// exit code: kExitOk, or kExitFailure after printing the error.
int RunPull(const CommandLine& cl, Node& node, bool json);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_PULL_RUNNER_H_
