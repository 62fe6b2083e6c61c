// fhirsync user: manages the identities `fhirsync serve` accepts
// (config.server.users and config.server.tokens) without editing hashes by
// hand. Passwords are read from stdin and stored only as salted PBKDF2
// hashes; a token is printed once and stored only as its SHA-256.

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>

#include "command.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync user add NAME --role ROLES [--token] [--dir D]\n"
    "       fhirsync user list [--json] [--dir D]\n"
    "       fhirsync user remove NAME [--dir D]\n"
    "\n"
    "Manages who may use 'fhirsync serve'. ROLES is a comma list of read, write,\n"
    "admin (admin includes read and write). 'add' reads the password from stdin\n"
    "(one line; not echoed on a terminal) and stores only a salted hash. With\n"
    "--token it instead issues a bearer token, prints it once on stdout, and stores\n"
    "only its hash: keep it, it cannot be shown again. 'remove' deletes the user and\n"
    "any token of that name.\n"
    "\n"
    "  --role ROLES  roles of the new identity (add)\n"
    "  --token       issue a bearer token instead of reading a password (add)\n"
    "  --json        print [{name, kind, roles}] (list)\n"
    "  --dir D       the node folder (default: $FHIRSYNC_DIR or .)\n";

// One line from stdin without its line end; echo is off on a terminal.
StatusOr<std::string> ReadPassword() {
  const bool terminal = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (terminal) {
    std::cerr << "password: " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (terminal) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << '\n';
  }
  if (!got && line.empty()) return InvalidArgumentError("no password on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return InvalidArgumentError("the password read from stdin is empty");
  return line;
}

int Add(CommandLine& cl, NodeConfig& config, const std::string& name, const std::string& roles,
        bool token) {
  if (!cl.Seen("role")) return cl.UsageError("add needs --role (read, write, admin)");
  std::vector<std::string> role_list = SplitList(roles);
  if (token) {
    for (const TokenConfig& t : config.server.tokens) {
      if (t.name == name) {
        return cl.Fail(AlreadyExistsError("a token named '" + name +
                                          "' exists; remove it first"));
      }
    }
    StatusOr<IssuedToken> issued = IssueToken(name, role_list);
    if (!issued.ok()) return cl.Fail(issued.status());
    config.server.tokens.push_back(issued->config);
    if (Status saved = SaveNodeConfig(cl.dir(), config); !saved.ok()) return cl.Fail(saved);
    std::cout << issued->token << std::endl;
    return kExitOk;
  }
  for (const UserConfig& u : config.server.users) {
    if (u.name == name) {
      return cl.Fail(AlreadyExistsError("user '" + name + "' exists; remove it first"));
    }
  }
  // Check the roles before asking for a password.
  if (Status valid = ValidateRoles(role_list); !valid.ok()) return cl.Fail(valid);
  StatusOr<std::string> password = ReadPassword();
  if (!password.ok()) return cl.Fail(password.status());
  StatusOr<UserConfig> user = MakeUser(name, *password, role_list);
  if (!user.ok()) return cl.Fail(user.status());
  config.server.users.push_back(*user);
  if (Status saved = SaveNodeConfig(cl.dir(), config); !saved.ok()) return cl.Fail(saved);
  std::cerr << "user '" << name << "' added\n";
  return kExitOk;
}

std::string JoinRoles(const std::vector<std::string>& roles) {
  std::string out;
  for (const std::string& role : roles) out += (out.empty() ? "" : ",") + role;
  return out;
}

int List(const NodeConfig& config, bool json) {
  if (json) {
    JsonOutput out;
    out.StartArray();
    auto row = [&](const std::string& name, const char* kind,
                   const std::vector<std::string>& roles) {
      out.StartObject();
      out.Field("name", name);
      out.Field("kind", std::string(kind));
      out.Key("roles");
      out.StartArray();
      for (const std::string& role : roles) out.String(role);
      out.EndArray();
      out.EndObject();
    };
    for (const UserConfig& u : config.server.users) row(u.name, "password", u.roles);
    for (const TokenConfig& t : config.server.tokens) row(t.name, "token", t.roles);
    out.EndArray();
    out.Print();
    return kExitOk;
  }
  for (const UserConfig& u : config.server.users) {
    std::cout << Pad(u.name, 20) << "  password  " << JoinRoles(u.roles) << '\n';
  }
  for (const TokenConfig& t : config.server.tokens) {
    std::cout << Pad(t.name, 20) << "  token     " << JoinRoles(t.roles) << '\n';
  }
  return kExitOk;
}

int Remove(CommandLine& cl, NodeConfig& config, const std::string& name) {
  auto& users = config.server.users;
  auto& tokens = config.server.tokens;
  const std::size_t before = users.size() + tokens.size();
  users.erase(std::remove_if(users.begin(), users.end(),
                             [&](const UserConfig& u) { return u.name == name; }),
              users.end());
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(),
                              [&](const TokenConfig& t) { return t.name == name; }),
               tokens.end());
  if (users.size() + tokens.size() == before) {
    return cl.Fail(NotFoundError("no user or token named '" + EscapeForMessage(name) + "'"));
  }
  if (Status saved = SaveNodeConfig(cl.dir(), config); !saved.ok()) return cl.Fail(saved);
  std::cerr << "removed '" << name << "'\n";
  return kExitOk;
}

int RunUser(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string roles;
  bool token = false;
  bool json = false;
  cl.flags().AddString("role", "ROLES", &roles);
  cl.flags().AddBool("token", &token);
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, 2)) return *exit;
  const std::string& action = cl.positional()[0];
  const std::size_t words = cl.positional().size();

  StatusOr<NodeConfig> config = LoadNodeConfig(cl.dir());
  if (!config.ok()) return cl.Fail(config.status());
  if (action == "add") {
    if (words != 2) return cl.UsageError("add needs a NAME");
    return Add(cl, *config, cl.positional()[1], roles, token);
  }
  if (action == "list") {
    if (words != 1) return cl.UsageError("list takes no NAME");
    return List(*config, json);
  }
  if (action == "remove") {
    if (words != 2) return cl.UsageError("remove needs a NAME");
    return Remove(cl, *config, cl.positional()[1]);
  }
  return cl.UsageError("unknown action '" + EscapeForMessage(action) +
                       "' (expected add, list or remove)");
}

}  // namespace

extern const Command kUserCommand = {"user", "add, list or remove who may use 'serve'", kHelp,
                                     &RunUser};

}  // namespace fhirsync::cli
