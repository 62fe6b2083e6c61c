// DemoNetwork: the little network `fhirsync demo` builds in a folder on
// 127.0.0.1: a parent (`fhirsync serve`) and tablets (`fhirsync init
// --parent`), each node its own folder, each server or sync daemon its own
// process. Every action is the `fhirsync` command a person would run, run as
// a child process of this program, so what the demo shows is what the
// commands do.
//
// Thread safety: one thread; `stop` (set from a signal handler) is only read.

#ifndef FHIRSYNC_APPS_FHIRSYNC_DEMO_DEMO_NETWORK_H_
#define FHIRSYNC_APPS_FHIRSYNC_DEMO_DEMO_NETWORK_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/status.h"
#include "process_runner.h"

namespace fhirsync::demo {

class DemoNetwork {
 public:
  // `program` is this fhirsync binary, `root` the (existing, empty) folder
  // the nodes go in. `narration` receives "$ fhirsync ..." lines for the
  // commands run with Show(); null: silent. `stop` aborts waits and
  // commands when it becomes true.
  DemoNetwork(std::string program, std::string root, std::ostream* narration,
              const std::atomic<bool>* stop);
  // Stops every process still running.
  ~DemoNetwork();

  const std::string& root() const { return root_; }
  // root/name
  std::string Dir(const std::string& node) const;
  // "fhirsync ARGS" as a person would type it (paths as they are).
  static std::string CommandText(const std::vector<std::string>& args);

  // Runs `fhirsync ARGS` with `input` on stdin (silently). Fails when the
  // command cannot be started, is interrupted, or times out; a non-zero
  // exit is the caller's to judge (result.exit_code).
  StatusOr<ProgramResult> Run(const std::vector<std::string>& args, const std::string& input = "");
  // Run(), printing the command first and its output after it (indented),
  // and requiring exit status 0 (else Internal naming the command and its
  // stderr).
  StatusOr<ProgramResult> Show(const std::vector<std::string>& args,
                               const std::string& input = "");

  // Creates the parent node: init, the users the tablets log in as, the
  // business rules, then starts `fhirsync serve` and learns its address.
  Status StartParent(const std::string& name, const std::vector<RuleConfig>& rules,
                     const std::vector<std::string>& tablets);
  const std::string& parent_url() const { return parent_url_; }

  // Creates a tablet: `init --parent` with its password on stdin, and short
  // sync intervals so the story moves in seconds.
  Status AddTablet(const std::string& name);
  // Starts / stops the tablet's sync daemon (its own process).
  Status GoOnline(const std::string& tablet);
  Status GoOffline(const std::string& tablet);
  bool Online(const std::string& tablet) const;

  // Polls `done` every 200 ms until it returns true (then true) or
  // `timeout` passes or the demo is stopped (then false).
  bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout);

  // Stops every process this network started (sync daemons first, then the
  // parent): SIGINT, a grace period, then SIGKILL. Returns how many were
  // running; `all_graceful` says whether each stopped within its grace.
  int StopAll(bool* all_graceful);
  // Whether any process started here still runs.
  bool AnyRunning();

 private:
  struct Tablet;

  std::string program_;
  std::string root_;
  std::ostream* narration_;
  const std::atomic<bool>* stop_;
  BackgroundProcess parent_;
  std::string parent_url_;
  std::map<std::string, std::unique_ptr<Tablet>> tablets_;
};

}  // namespace fhirsync::demo

#endif  // FHIRSYNC_APPS_FHIRSYNC_DEMO_DEMO_NETWORK_H_
