// The `fhirsync` program as a whole: the command table (every verb, in the
// order `fhirsync --help` lists them), the overview text, and the entry point
// that picks the verb. Kept out of main.cc so that the build's documentation
// generator (docgen/) writes the man page and the shell completion from the
// same table and help texts the program prints.
//
// Thread safety: the table is constant; RunProgram is for the main thread.

#ifndef FHIRSYNC_APPS_FHIRSYNC_PROGRAM_H_
#define FHIRSYNC_APPS_FHIRSYNC_PROGRAM_H_

#include <ostream>
#include <span>
#include <string_view>

#include "command.h"

namespace fhirsync::cli {

// The program's version ("0.1.0").
std::string_view ProgramVersion();

// Every verb, in `fhirsync --help` order.
std::span<const Command* const> AllCommands();

// The verb named `name`, or nullptr.
const Command* FindCommand(std::string_view name);

// The text of `fhirsync --help`: usage, what a node is, the verbs with their
// summaries, the environment and the exit codes.
void PrintOverview(std::ostream& out);

// Runs `fhirsync ARGS...`; returns the exit code.
int RunProgram(int argc, char** argv);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_PROGRAM_H_
