#include "command.h"

#include <cctype>
#include <cstdlib>
#include <iostream>

#include "fhirsync/base/text_util.h"
#include "fhirsync/sync_resource_manager.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

bool json_errors = false;

// "NOT_FOUND" -> "not_found".
std::string CodeText(StatusCode code) {
  std::string text(StatusCodeName(code));
  for (char& ch : text) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return text;
}

std::string_view FirstLine(std::string_view text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

void SetJsonErrors(bool json) { json_errors = json; }

bool WantsJson(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--json" || arg == "--json=true") return true;
  }
  return false;
}

void PrintError(std::string_view verb, std::string_view message, std::string_view code,
                int exit_code) {
  if (json_errors) {
    JsonOutput json;
    json.StartObject();
    json.Field("verb", verb);
    json.Field("error", message);
    json.Field("code", code);
    json.Field("exit_code", exit_code);
    json.EndObject();
    json.Print(std::cerr);
    return;
  }
  std::cerr << "fhirsync";
  if (!verb.empty()) std::cerr << ' ' << verb;
  std::cerr << ": " << message << '\n';
}

std::string DefaultNodeDir() {
  const char* dir = std::getenv(kDirEnvironmentVariable);
  return dir != nullptr && *dir != '\0' ? dir : ".";
}

CommandLine::CommandLine(const Invocation& invocation)
    : invocation_(invocation), dir_(DefaultNodeDir()) {
  flags_.AddString("dir", "D", &dir_);
  flags_.AddBool("help", &help_);
}

std::optional<int> CommandLine::Parse(std::size_t min_positional, std::size_t max_positional) {
  Status parsed = flags_.Parse(invocation_.args);
  // --help wins over any other problem on the line, as users expect.
  if (help_) {
    std::cout << invocation_.command.help;
    return kExitOk;
  }
  if (!parsed.ok()) return UsageError(parsed.message());
  std::size_t n = flags_.positional().size();
  if (n < min_positional) return UsageError("missing argument");
  if (n > max_positional) {
    return UsageError("unexpected argument '" + EscapeForMessage(flags_.positional()[max_positional]) +
                      "'");
  }
  if (dir_.empty()) return UsageError("--dir must not be empty");
  return std::nullopt;
}

const char* CommandLine::command_name() const { return invocation_.command.name; }

int CommandLine::UsageError(std::string_view message) const {
  PrintError(invocation_.command.name, message, "usage", kExitUsage);
  // A program reading JSON errors gets the one object; the reminder is for
  // people.
  if (json_errors) return kExitUsage;
  std::cerr << FirstLine(invocation_.command.help) << '\n'
            << "Run 'fhirsync help " << invocation_.command.name << "' for details.\n";
  return kExitUsage;
}

int CommandLine::Fail(const Status& status) const {
  if (status.code() == StatusCode::kAborted) {
    PrintError(invocation_.command.name, "conflict: " + status.message(), "conflict",
               kExitConflict);
    return kExitConflict;
  }
  if (IsNoRouteError(status)) {
    // Not bad data and not the parent: this node is not set up to carry it.
    PrintError(invocation_.command.name,
               "configuration of this node: " + status.message() +
                   " (load a plugin that carries it in plugins.load, or route it in "
                   "plugins.routes: 'fhirsync config', 'fhirsync plugins')",
               "configuration", kExitFailure);
    return kExitFailure;
  }
  PrintError(invocation_.command.name, status.message(), CodeText(status.code()), kExitFailure);
  return kExitFailure;
}

StatusOr<ResourceKey> ParseResourceKey(std::string_view text) {
  std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string_view::npos) {
    return InvalidArgumentError("expected TYPE/ID (e.g. Patient/123), got '" +
                                EscapeForMessage(text) + "'");
  }
  return ResourceKey{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

}  // namespace fhirsync::cli
