// The `fhirsync` program: finds the verb in the command table and runs it.

#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"

namespace fhirsync::cli {

// The command table: one line per verb, in the order `fhirsync --help`
// lists them. To add a verb FOO:
//   1. write apps/fhirsync/foo_command.cc defining
//        extern const Command kFooCommand = {"foo", "one-line summary",
//                                            "usage: fhirsync foo ...\n...", &RunFoo};
//      (copy stats_command.cc: CommandLine gives --dir/--help, Node opens the
//      store, JsonOutput writes --json, CommandLine::Fail reports errors);
//   2. add the line `X(kFooCommand) \` below (every line ends in a backslash,
//      so adding one never edits another). CMake picks the new file up.
#define FHIRSYNC_COMMANDS(X) \
  X(kInitCommand)            \
  X(kPutCommand)             \
  X(kGetCommand)             \
  X(kDeleteCommand)          \
  X(kHistoryCommand)         \
  X(kChangesCommand)         \
  X(kImportCommand)          \
  X(kStatsCommand)           \
  X(kStatusCommand)          \
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

const Command* FindCommand(std::string_view name) {
  for (const Command* command : kCommands) {
    if (name == command->name) return command;
  }
  return nullptr;
}

void PrintOverview(std::ostream& out) {
  out << "usage: fhirsync VERB [ARGS] [--dir D] [--help]\n"
         "\n"
         "fhirsync keeps FHIR health records in step across a tree of nodes. A node is a\n"
         "folder holding fhirsync.json and its store; every verb works on the node in\n"
         "--dir D (default: the current folder).\n"
         "\n"
         "Verbs:\n";
  for (const Command* command : kCommands) {
    out << "  " << command->name;
    for (std::size_t n = std::string_view(command->name).size(); n < 10; ++n) out << ' ';
    out << command->summary << '\n';
  }
  out << "\n"
         "'fhirsync help VERB' or 'fhirsync VERB --help' shows a verb's flags.\n"
         "Errors go to stderr as 'fhirsync VERB: message'. Exit status: 0 success,\n"
         "1 failure, 2 usage error, 3 version conflict (--if-match).\n";
}

int UnknownVerb(std::string_view verb) {
  PrintError("", "unknown verb '" + std::string(verb) + "' (run 'fhirsync --help' for the list)");
  return kExitUsage;
}

int Help(const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintOverview(std::cout);
    return kExitOk;
  }
  if (args.size() > 1) {
    PrintError("help", "expected one verb, got " + std::to_string(args.size()) + " words");
    return kExitUsage;
  }
  const Command* command = FindCommand(args[0]);
  if (command == nullptr) return UnknownVerb(args[0]);
  std::cout << command->help;
  return kExitOk;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
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
    PrintError(command->name, std::string("internal error: ") + e.what());
    return kExitFailure;
  }
}

}  // namespace
}  // namespace fhirsync::cli

int main(int argc, char** argv) { return fhirsync::cli::Main(argc, argv); }
