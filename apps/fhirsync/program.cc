// The `fhirsync` program: finds the verb in the command table and runs it.

#include "program.h"

#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "suggest.h"

namespace fhirsync::cli {

// The command table: one line per verb, in the order `fhirsync --help`
// lists them. To add a verb FOO:
//   1. write apps/fhirsync/foo_command.cc defining
//        extern const Command kFooCommand = {"foo", "one-line summary",
//                                            "usage: fhirsync foo ...\n...", &RunFoo};
//      (copy stats_command.cc: CommandLine gives --dir/--help, Node opens the
//      store, JsonOutput writes --json, CommandLine::Fail reports errors);
//   2. add the line `X(kFooCommand) \` below (every line ends in a backslash,
//      so adding one never edits another). CMake picks the new file up, and
//      the man page and the bash completion pick the verb up from this table.
#define FHIRSYNC_COMMANDS(X) \
  X(kInitCommand)            \
  X(kPutCommand)             \
  X(kGetCommand)             \
  X(kDeleteCommand)          \
  X(kHistoryCommand)         \
  X(kChangesCommand)         \
  X(kImportCommand)          \
  X(kStatsCommand)           \
  X(kSnapshotCommand)        \
  X(kStatusCommand)          \
  X(kConfigCommand)          \
  X(kPluginsCommand)         \
  X(kServeCommand)           \
  X(kUserCommand)            \
  X(kSyncCommand)            \
  X(kOutboxCommand)          \
  X(kRetryCommand)           \
  X(kDiscardCommand)         \
  X(kResubmitCommand)        \
  X(kConflictsCommand)       \
  X(kAuditCommand)           \
  X(kVerifyCommand)          \
  X(kDemoCommand)            \
  /* end of the command table */

#define FHIRSYNC_DECLARE_COMMAND(name) extern const Command name;
#define FHIRSYNC_COMMAND_ADDRESS(name) &name,
FHIRSYNC_COMMANDS(FHIRSYNC_DECLARE_COMMAND)
const Command* const kCommands[] = {FHIRSYNC_COMMANDS(FHIRSYNC_COMMAND_ADDRESS)};

namespace {

constexpr char kVersion[] = FHIRSYNC_VERSION;

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const Command* command : kCommands) names.emplace_back(command->name);
  return names;
}

int UnknownVerb(std::string_view verb) {
  PrintError("", "unknown verb '" + std::string(verb) + "'" + DidYouMean(verb, CommandNames()) +
                     " (run 'fhirsync --help' for the list)",
             "usage", kExitUsage);
  return kExitUsage;
}

int Help(const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintOverview(std::cout);
    return kExitOk;
  }
  if (args.size() > 1) {
    PrintError("help", "expected one verb, got " + std::to_string(args.size()) + " words",
               "usage", kExitUsage);
    return kExitUsage;
  }
  const Command* command = FindCommand(args[0]);
  if (command == nullptr) return UnknownVerb(args[0]);
  std::cout << command->help;
  return kExitOk;
}

}  // namespace

std::string_view ProgramVersion() { return kVersion; }

std::span<const Command* const> AllCommands() { return kCommands; }

const Command* FindCommand(std::string_view name) {
  for (const Command* command : kCommands) {
    if (name == command->name) return command;
  }
  return nullptr;
}

void PrintOverview(std::ostream& out) {
  out << "usage: fhirsync VERB [ARGS] [--dir D] [--json] [--help]\n"
         "\n"
         "fhirsync keeps FHIR health records in step across a tree of nodes. A node is a\n"
         "folder holding fhirsync.json and its store; every verb works on the node in\n"
         "--dir D (default: $FHIRSYNC_DIR, else the current folder).\n"
         "\n"
         "Verbs:\n";
  for (const Command* command : kCommands) {
    out << "  " << command->name;
    for (std::size_t n = std::string_view(command->name).size(); n < 10; ++n) out << ' ';
    out << command->summary << '\n';
  }
  out << "\n"
         "'fhirsync help VERB' or 'fhirsync VERB --help' shows a verb's flags.\n"
         "Errors go to stderr as 'fhirsync VERB: message'; with --json, as one JSON\n"
         "object per line: {verb, error, code, exit_code}. Exit status: 0 success,\n"
         "1 failure, 2 usage error, 3 version conflict (--if-match).\n"
         "\n"
         "Environment:\n"
         "  FHIRSYNC_DIR    the node folder when --dir is not given\n"
         "  NOTIFY_SOCKET   set by systemd: 'serve' and 'sync --watch' report\n"
         "                  READY=1 and STOPPING=1 to it (Type=notify units)\n";
}

int RunProgram(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  SetJsonErrors(WantsJson(args));
  if (args.empty()) {
    PrintOverview(std::cerr);
    return kExitUsage;
  }
  std::string verb = args.front();
  args.erase(args.begin());
  if (verb == "--help" || verb == "-h" || verb == "help") return Help(args);
  if (verb == "--version") {
    std::cout << "fhirsync " << kVersion << '\n';
    return kExitOk;
  }
  const Command* command = FindCommand(verb);
  if (command == nullptr) return UnknownVerb(verb);
  Invocation invocation{*command, std::move(args)};
  try {
    return command->run(invocation);
  } catch (const std::exception& e) {
    // Library code reports failures as Status; an exception here is a bug,
    // but the user still gets the error format and a failure exit.
    PrintError(command->name, std::string("internal error: ") + e.what(), "internal",
               kExitFailure);
    return kExitFailure;
  }
}

}  // namespace fhirsync::cli
