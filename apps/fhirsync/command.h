// Command: one verb of the `fhirsync` program, and CommandLine, the flag
// handling every verb shares (--dir, --help, usage errors, exit codes).
//
// A verb is a `const Command kFooCommand` defined in foo_command.cc and listed
// in the table in main.cc. Its `run` function gets the words after the verb.
//
// Errors go to stderr as "fhirsync VERB: message", or, when the command line
// holds --json, as one JSON object per error:
//   {"verb":"get","error":"message","code":"not_found","exit_code":1}
// `code` names the kind of problem: "usage", "conflict", "configuration"
// (the node's own fhirsync.json or plugins), "not_found", "invalid_argument",
// "unavailable", ... (the status code, lower case).
//
// Exit codes (documented in `fhirsync --help`):
//   0  success
//   1  failure (not found, deleted, invalid resource, store or I/O error)
//   2  usage error (unknown verb or flag, missing or malformed value)
//   3  version conflict (--if-match did not match the current version)
//
// Thread safety: the program is single-threaded; nothing here is shared.

#ifndef FHIRSYNC_APPS_FHIRSYNC_COMMAND_H_
#define FHIRSYNC_APPS_FHIRSYNC_COMMAND_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/status.h"
#include "flags.h"

namespace fhirsync::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConflict = 3;

struct Invocation;

struct Command {
  const char* name;     // "put"
  const char* summary;  // one line for `fhirsync --help`
  // The full text of `fhirsync help VERB`; its first line is the usage line
  // ("usage: fhirsync put [FILE|-] ..."), repeated after a usage error.
  const char* help;
  int (*run)(const Invocation& invocation);
};

struct Invocation {
  const Command& command;
  std::vector<std::string> args;  // the words after the verb
};

// The environment variable naming the node folder when --dir is not given.
inline constexpr char kDirEnvironmentVariable[] = "FHIRSYNC_DIR";

// The node folder a verb uses without --dir: $FHIRSYNC_DIR when set and not
// empty, else ".".
std::string DefaultNodeDir();

// Parses a verb's flags with the shared ones added: `--dir D` (the node
// folder, default DefaultNodeDir()) and `--help`. Prints what needs printing
// itself.
class CommandLine {
 public:
  explicit CommandLine(const Invocation& invocation);

  FlagParser& flags() { return flags_; }

  // Parses the arguments and checks the number of positional words.
  // Returns nullopt when the verb should go on, otherwise the exit code to
  // return at once: kExitOk after printing the help for --help, kExitUsage
  // after printing "fhirsync VERB: message" and the usage line.
  std::optional<int> Parse(std::size_t min_positional, std::size_t max_positional);

  const std::string& dir() const { return dir_; }
  const std::vector<std::string>& positional() const { return flags_.positional(); }
  bool Seen(std::string_view flag) const { return flags_.Seen(flag); }
  const char* command_name() const;

  // Prints "fhirsync VERB: message" and the usage line on stderr; returns
  // kExitUsage.
  int UsageError(std::string_view message) const;
  // Prints "fhirsync VERB: message" on stderr and returns the exit code the
  // status calls for (kExitConflict for kAborted, else kExitFailure). An
  // Aborted status is shown as "conflict: ..." so it is never mistaken for
  // bad input; a resource type no plugin carries (IsNoRouteError in
  // fhirsync/sync_resource_manager.h) as
  // "configuration of this node: ...", so it is never mistaken for bad data.
  int Fail(const Status& status) const;

 private:
  const Invocation& invocation_;
  FlagParser flags_;
  std::string dir_;
  bool help_ = false;
};

// Prints "fhirsync VERB: message" on stderr (the one error format), or its
// JSON form (see the top of this file) with `code` and `exit_code` once
// SetJsonErrors(true) was called.
void PrintError(std::string_view verb, std::string_view message,
                std::string_view code = "failure", int exit_code = kExitFailure);
// Whether errors are printed as JSON. The program sets it once, before the
// verb runs, from the --json on its command line.
void SetJsonErrors(bool json);
// Whether `args` (the words after the verb) ask for JSON output: --json or
// --json=true before any "--".
bool WantsJson(const std::vector<std::string>& args);


// "Patient/123" -> {"Patient", "123"}; InvalidArgument naming the text when
// it is not TYPE/ID (both parts non-empty, one slash).
struct ResourceKey {
  std::string type;
  std::string id;
};
StatusOr<ResourceKey> ParseResourceKey(std::string_view text);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_COMMAND_H_
