// Running other programs from the `fhirsync` program, through Poco::Process:
// RunProgram() for a command that runs to completion (its stdout and stderr
// captured), BackgroundProcess for one that keeps running (a server, a sync
// daemon) whose output goes to a log file and which is stopped with a signal.
// `fhirsync demo` uses both to run the very commands a person would type.
//
// Thread safety: RunProgram() may be called from any thread. A
// BackgroundProcess is used from one thread; its reader threads only append
// to its log under a mutex.

#ifndef FHIRSYNC_APPS_FHIRSYNC_DEMO_PROCESS_RUNNER_H_
#define FHIRSYNC_APPS_FHIRSYNC_DEMO_PROCESS_RUNNER_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync::demo {

struct ProgramResult {
  int exit_code = -1;  // 256 + signal number when a signal ended it
  bool timed_out = false;  // or stopped by `stop`: the program was killed
  std::string out;
  std::string err;
};

// Runs `program` with `args`, writing `input` to its stdin (then closing
// it), and waits for it. Kills it (SIGKILL) after `timeout` or as soon as
// `*stop` becomes true (`stop` may be null); then timed_out is set.
// Unavailable naming the program when it cannot be started.
StatusOr<ProgramResult> RunProgram(const std::string& program,
                                   const std::vector<std::string>& args, const std::string& input,
                                   std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* stop);

class BackgroundProcess {
 public:
  BackgroundProcess();
  // Stops the process (Stop()) if it still runs.
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  // Starts `program args` with stdin closed; its stdout and stderr are
  // appended to the file `log_path` (created if missing) and kept in memory.
  // Unavailable when the program or the log cannot be opened;
  // FailedPrecondition when a process is already running.
  Status Start(const std::string& program, const std::vector<std::string>& args,
               const std::string& log_path);

  // Waits until the output so far contains `text`. False when the deadline
  // passes, the process exits first, or `*stop` becomes true.
  bool WaitForOutput(std::string_view text, std::chrono::milliseconds timeout,
                     const std::atomic<bool>* stop);

  bool Running();
  // The process id; 0 before Start().
  long pid() const;
  // Everything the process wrote so far.
  std::string Output() const;

  // Asks the process to stop (SIGINT, which fhirsync's servers and daemons
  // answer with a graceful stop), waits up to `grace`, then kills it
  // (SIGKILL), and collects it. True when it ended within the grace time.
  // Harmless when it is not running.
  bool Stop(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync::demo

#endif  // FHIRSYNC_APPS_FHIRSYNC_DEMO_PROCESS_RUNNER_H_
