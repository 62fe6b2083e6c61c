#include "command.h"

#include <iostream>

#include "core/text_util.h"

namespace fhirsync::cli {
namespace {

std::string_view FirstLine(std::string_view text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

void PrintError(std::string_view verb, std::string_view message) {
  std::cerr << "fhirsync";
  if (!verb.empty()) std::cerr << ' ' << verb;
  std::cerr << ": " << message << '\n';
}

CommandLine::CommandLine(const Invocation& invocation) : invocation_(invocation) {
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
  PrintError(invocation_.command.name, message);
  std::cerr << FirstLine(invocation_.command.help) << '\n'
            << "Run 'fhirsync help " << invocation_.command.name << "' for details.\n";
  return kExitUsage;
}

int CommandLine::Fail(const Status& status) const {
  if (status.code() == StatusCode::kAborted) {
    PrintError(invocation_.command.name, "conflict: " + status.message());
    return kExitConflict;
  }
  PrintError(invocation_.command.name, status.message());
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
