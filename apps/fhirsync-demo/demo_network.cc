#include "demo_network.h"

#include <filesystem>
#include <thread>

#include "fhirsync/base/text_util.h"

namespace fhirsync::demo {
namespace {

constexpr auto kCommandTimeout = std::chrono::seconds(60);
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopGrace = std::chrono::seconds(15);
constexpr auto kPollEvery = std::chrono::milliseconds(200);

// What keeps a tablet in step while it is online: one long-running process
// per entry, each `fhirsync sync --dir T` plus these words (the sync
// daemon, pulling and pushing on the node's intervals).
const std::vector<std::vector<std::string>>& SyncDaemons() {
  static const std::vector<std::vector<std::string>> kDaemons = {{"--watch"}};
  return kDaemons;
}

// Words that need quoting when shown as a shell command.
std::string ShellWord(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\n'\"\\$`*?<>|&;()[]{}!#~") == std::string::npos) {
    return word;
  }
  std::string quoted = "'";
  for (char ch : word) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return quoted + "'";
}

void Indented(std::ostream& out, const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out << "    " << text.substr(start, end - start) << '\n';
    start = end + 1;
  }
}

}  // namespace

struct DemoNetwork::Tablet {
  std::string dir;
  bool online = false;
  std::vector<std::unique_ptr<BackgroundProcess>> daemons;
};

DemoNetwork::DemoNetwork(std::string program, std::string root, std::ostream* narration,
                         const std::atomic<bool>* stop)
    : program_(std::move(program)), root_(std::move(root)), narration_(narration), stop_(stop) {}

DemoNetwork::~DemoNetwork() {
  bool graceful = true;
  StopAll(&graceful);
}

std::string DemoNetwork::Dir(const std::string& node) const {
  return (std::filesystem::path(root_) / node).string();
}

std::string DemoNetwork::CommandText(const std::vector<std::string>& args) {
  std::string text = "fhirsync";
  for (const std::string& arg : args) text += " " + ShellWord(arg);
  return text;
}

StatusOr<ProgramResult> DemoNetwork::Run(const std::vector<std::string>& args,
                                         const std::string& input) {
  FHIRSYNC_ASSIGN_OR_RETURN(ProgramResult result,
                            RunProgram(program_, args, input, kCommandTimeout, stop_));
  if (result.timed_out) {
    return DeadlineExceededError(CommandText(args) +
                                 (stop_ != nullptr && stop_->load() ? ": interrupted"
                                                                    : ": did not finish in time"));
  }
  return result;
}

StatusOr<ProgramResult> DemoNetwork::Show(const std::vector<std::string>& args,
                                          const std::string& input) {
  if (narration_ != nullptr) *narration_ << "  $ " << CommandText(args) << '\n';
  FHIRSYNC_ASSIGN_OR_RETURN(ProgramResult result, Run(args, input));
  if (narration_ != nullptr) Indented(*narration_, result.out);
  if (result.exit_code != 0) {
    return InternalError(CommandText(args) + " failed (exit " +
                         std::to_string(result.exit_code) + "): " + result.err);
  }
  return result;
}

Status DemoNetwork::StartParent(const std::string& name, const std::vector<RuleConfig>& rules,
                                const std::vector<std::string>& tablets) {
  const std::string dir = Dir(name);
  FHIRSYNC_RETURN_IF_ERROR(Show({"init", "--dir", dir, "--node-id", name}).status());
  for (const std::string& tablet : tablets) {
    // Each tablet logs in with its own password, which it keeps in a 0600
    // file; the parent keeps only a salted hash.
    FHIRSYNC_RETURN_IF_ERROR(
        Show({"user", "add", tablet, "--role", "read,write", "--dir", dir},
             tablet + "-password\n")
            .status());
  }
  FHIRSYNC_ASSIGN_OR_RETURN(NodeConfig config, LoadNodeConfig(dir));
  config.server.rules = rules;
  FHIRSYNC_RETURN_IF_ERROR(SaveNodeConfig(dir, config));
  if (narration_ != nullptr) {
    *narration_ << "  (business rules added to " << dir << "/fhirsync.json, server.rules)\n";
  }
  const std::vector<std::string> serve = {"serve", "--dir", dir, "--bind", "127.0.0.1",
                                          "--port", "0"};
  if (narration_ != nullptr) *narration_ << "  $ " << CommandText(serve) << " &\n";
  FHIRSYNC_RETURN_IF_ERROR(parent_.Start(program_, serve, dir + "/serve.log"));
  const std::string prefix = "listening on ";
  if (!parent_.WaitForOutput(prefix, kStartTimeout, stop_)) {
    return UnavailableError("the parent did not start: " + parent_.Output());
  }
  std::string out = parent_.Output();
  std::size_t at = out.find(prefix) + prefix.size();
  parent_url_ = out.substr(at, out.find('\n', at) - at);
  if (narration_ != nullptr) Indented(*narration_, prefix + parent_url_);
  return Status::Ok();
}

Status DemoNetwork::AddTablet(const std::string& name) {
  auto tablet = std::make_unique<Tablet>();
  tablet->dir = Dir(name);
  FHIRSYNC_RETURN_IF_ERROR(Show({"init", "--dir", tablet->dir, "--node-id", name, "--parent",
                                 parent_url_, "--parent-user", name},
                                name + "-password\n")
                               .status());
  FHIRSYNC_ASSIGN_OR_RETURN(NodeConfig config, LoadNodeConfig(tablet->dir));
  config.pull.interval_seconds = 1;
  config.push.interval_seconds = 1;
  FHIRSYNC_RETURN_IF_ERROR(SaveNodeConfig(tablet->dir, config));
  tablets_[name] = std::move(tablet);
  return Status::Ok();
}

Status DemoNetwork::GoOnline(const std::string& name) {
  Tablet& tablet = *tablets_.at(name);
  if (tablet.online) return Status::Ok();
  tablet.online = true;
  tablet.daemons.clear();
  for (const std::vector<std::string>& words : SyncDaemons()) {
    std::vector<std::string> args = {"sync", "--dir", tablet.dir};
    args.insert(args.end(), words.begin(), words.end());
    if (narration_ != nullptr) *narration_ << "  $ " << CommandText(args) << " &\n";
    tablet.daemons.push_back(std::make_unique<BackgroundProcess>());
    std::string log = "sync";
    for (const std::string& word : words) log += "-" + word.substr(word.rfind('-') + 1);
    FHIRSYNC_RETURN_IF_ERROR(
        tablet.daemons.back()->Start(program_, args, tablet.dir + "/" + log + ".log"));
  }
  return Status::Ok();
}

Status DemoNetwork::GoOffline(const std::string& name) {
  Tablet& tablet = *tablets_.at(name);
  if (!tablet.online) return Status::Ok();
  tablet.online = false;
  for (auto& daemon : tablet.daemons) {
    if (narration_ != nullptr) {
      *narration_ << "  $ kill -INT " << daemon->pid() << "   # the sync daemon of " << name
                  << '\n';
    }
    if (!daemon->Stop(kStopGrace)) {
      return InternalError("the sync daemon of " + name + " did not stop within " +
                           std::to_string(kStopGrace.count()) + " s; it was killed");
    }
  }
  return Status::Ok();
}

bool DemoNetwork::Online(const std::string& name) const { return tablets_.at(name)->online; }

bool DemoNetwork::WaitUntil(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline || (stop_ != nullptr && stop_->load())) {
      return false;
    }
    std::this_thread::sleep_for(kPollEvery);
  }
}

int DemoNetwork::StopAll(bool* all_graceful) {
  int stopped = 0;
  *all_graceful = true;
  for (auto& [name, tablet] : tablets_) {
    tablet->online = false;
    for (auto& daemon : tablet->daemons) {
      if (daemon->Running()) ++stopped;
      if (!daemon->Stop(kStopGrace)) *all_graceful = false;
    }
  }
  if (parent_.Running()) ++stopped;
  if (!parent_.Stop(kStopGrace)) *all_graceful = false;
  return stopped;
}

bool DemoNetwork::AnyRunning() {
  for (auto& [name, tablet] : tablets_) {
    for (auto& daemon : tablet->daemons) {
      if (daemon->Running()) return true;
    }
  }
  return parent_.Running();
}

}  // namespace fhirsync::demo
