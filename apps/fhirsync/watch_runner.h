// RunWatch: `fhirsync sync --watch`, the daemon of the fhirsync program. It
// opens the node and runs its daemon (Node::StartDaemon: pull, push or both)
// with the node's intervals, watching the store so that a write made by
// another process (`fhirsync put`) is pushed promptly. Logs go to stderr, one
// line each (time, level, side, message; JSON lines with --json). SIGTERM or
// SIGINT stops it after the current step; it then prints a summary on stdout
// and exits 0.
//
// Thread safety: call from the main thread before any other thread starts
// (it blocks SIGINT/SIGTERM for every thread and waits for them itself).

#ifndef FHIRSYNC_APPS_FHIRSYNC_WATCH_RUNNER_H_
#define FHIRSYNC_APPS_FHIRSYNC_WATCH_RUNNER_H_

#include "command.h"
#include "fhirsync/sync_daemon.h"

namespace fhirsync::cli {

struct WatchOptions {
  bool pull = true;   // run the pull side
  bool push = true;   // run the push side
  LogLevel log_level = LogLevel::kInfo;
  bool json = false;  // JSON log lines and a JSON summary
};

// Returns the exit code: kExitOk after a signal, kExitFailure (after printing
// the error) when the node, its plugins or the daemon cannot start.
int RunWatch(const CommandLine& cl, const WatchOptions& options);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_WATCH_RUNNER_H_
