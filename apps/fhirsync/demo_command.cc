// fhirsync demo: runs the demo program, fhirsync-demo, which sits beside this
// program (apps/fhirsync-demo/): the story of the disconnected client with
// real processes. The story lives in its own program, not in the CLI
// library; this verb keeps its place in the command table, its help text
// (for the man page) and its usage errors, then replaces itself with the
// demo program, which runs the commands of this very fhirsync binary.

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync demo [--keep] [--json]\n"
    "\n"
    "Tells the story of the disconnected client with real processes on 127.0.0.1,\n"
    "in a temporary folder: a parent (`fhirsync serve`, with a business rule: a\n"
    "Patient needs a birth date) and two tablets (`fhirsync init --parent`, each\n"
    "kept in step by its own sync daemon, `fhirsync sync --watch`, every second).\n"
    "\n"
    "  1. patients registered on tablet 1 appear on tablet 2;\n"
    "  2. tablet 2 goes offline (its daemon stops) and keeps working: local writes\n"
    "     succeed and wait in its outbox;\n"
    "  3. back online, a change the parent refuses with its business rule (HTTP\n"
    "     422) becomes a dead letter; the next pull does not hide it (the local\n"
    "     copy stays, the parent's is kept beside it); `fhirsync status` shows it;\n"
    "     the operator corrects the record and retries, and it syncs;\n"
    "  4. both tablets change different fields of one patient: the edits are\n"
    "     merged, and every node holds both;\n"
    "  5. every process the demo started is stopped (also on Ctrl-C or a\n"
    "     failure) and the folder is removed.\n"
    "\n"
    "Each step prints what happened, the commands that made it happen, and the\n"
    "command to see it yourself. Takes about half a minute.\n"
    "\n"
    "  --keep   keep the folder (the nodes, their stores and logs) afterwards\n"
    "  --json   print one JSON line per step instead of the story:\n"
    "           {step, name, ok, seconds, detail, see: [commands], ...facts}\n"
    "\n"
    "Exit status 0 when every step did what it should, 1 otherwise.\n";

// The name of the demo program, beside the fhirsync program.
constexpr char kDemoProgram[] = "fhirsync-demo";

int RunDemo(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool keep = false;
  bool json = false;
  cl.flags().AddBool("keep", &keep);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (cl.Seen("dir")) return cl.UsageError("the demo makes its own folder; --dir is not used");
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return cl.Fail(UnavailableError("cannot find this program's own path"));
  const std::string demo = (self.parent_path() / kDemoProgram).string();

  std::vector<std::string> args = {demo, "--fhirsync", self.string()};
  if (keep) args.push_back("--keep");
  if (json) args.push_back("--json");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Replaced, not a child: a Ctrl-C (SIGINT) reaches the demo itself, which
  // stops every process it started.
  std::cout.flush();
  execv(demo.c_str(), argv.data());
  return cl.Fail(UnavailableError("cannot run the demo program " + demo + ": " +
                                  std::strerror(errno) + " (it is built beside fhirsync)"));
}

}  // namespace

extern const Command kDemoCommand = {
    "demo", "the disconnected client's story with a parent and two tablets", kHelp, &RunDemo};

}  // namespace fhirsync::cli
