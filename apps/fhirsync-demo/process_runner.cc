#include "process_runner.h"

#include <Poco/Exception.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

namespace fhirsync::demo {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);

// Reads `pipe` to its end, handing each chunk to `sink`.
// (Pipe::readBytes returns what is there as soon as something is, so a
// server's first line is seen at once; an istream would wait for a full
// buffer.)
template <typename Sink>
void Drain(Poco::Pipe pipe, Sink sink) {
  char buffer[4096];
  while (true) {
    int n = 0;
    try {
      n = pipe.readBytes(buffer, sizeof(buffer));
    } catch (const Poco::Exception&) {
      return;
    }
    if (n <= 0) return;
    sink(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
}

// Poco reaps the child in tryWait(); asking again would fail, so the
// answer is remembered.
class Reaper {
 public:
  explicit Reaper(Poco::ProcessHandle handle) : handle_(std::move(handle)) {}
  std::optional<int> TryWait() {
    if (!exit_code_) {
      try {
        int code = handle_.tryWait();
        if (code != -1) exit_code_ = code;
      } catch (const Poco::Exception&) {
        exit_code_ = -1;  // already collected elsewhere: it is gone
      }
    }
    return exit_code_;
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!TryWait()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(kPollInterval);
    }
    return true;
  }
  void Kill() {
    if (TryWait()) return;
    try {
      Poco::Process::kill(handle_);
    } catch (const Poco::Exception&) {
    }
    WaitFor(std::chrono::seconds(10));
  }
  long pid() const { return static_cast<long>(handle_.id()); }

 private:
  Poco::ProcessHandle handle_;
  std::optional<int> exit_code_;
};

}  // namespace

StatusOr<ProgramResult> RunProgram(const std::string& program,
                                   const std::vector<std::string>& args, const std::string& input,
                                   std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* stop) {
  Poco::Pipe in_pipe;
  Poco::Pipe out_pipe;
  Poco::Pipe err_pipe;
  std::optional<Reaper> child;
  try {
    child.emplace(Poco::Process::launch(program, args, &in_pipe, &out_pipe, &err_pipe));
  } catch (const Poco::Exception& e) {
    return UnavailableError("cannot start " + program + ": " + e.displayText());
  }
  ProgramResult result;
  std::thread out_reader(
      [&] { Drain(out_pipe, [&](std::string_view chunk) { result.out.append(chunk); }); });
  std::thread err_reader(
      [&] { Drain(err_pipe, [&](std::string_view chunk) { result.err.append(chunk); }); });
  try {
    Poco::PipeOutputStream to_child(in_pipe);
    to_child << input;
    to_child.close();
  } catch (const Poco::Exception&) {
    // The program did not read its input; its answer says why.
  }
  in_pipe.close();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!child->TryWait()) {
    if (std::chrono::steady_clock::now() >= deadline || (stop != nullptr && stop->load())) {
      result.timed_out = true;
      child->Kill();
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  out_reader.join();
  err_reader.join();
  result.exit_code = child->TryWait().value_or(-1);
  return result;
}

struct BackgroundProcess::Impl {
  std::optional<Reaper> child;
  std::thread out_reader;
  std::thread err_reader;
  mutable std::mutex mutex;
  std::string output;
  std::ofstream log;

  void Append(std::string_view chunk) {
    std::lock_guard<std::mutex> lock(mutex);
    output.append(chunk);
    log.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    log.flush();
  }
  void JoinReaders() {
    if (out_reader.joinable()) out_reader.join();
    if (err_reader.joinable()) err_reader.join();
  }
};

BackgroundProcess::BackgroundProcess() : impl_(std::make_unique<Impl>()) {}

BackgroundProcess::~BackgroundProcess() { Stop(std::chrono::seconds(10)); }

Status BackgroundProcess::Start(const std::string& program, const std::vector<std::string>& args,
                                const std::string& log_path) {
  if (Running()) return FailedPreconditionError("the process is already running");
  impl_->JoinReaders();
  impl_->log.close();
  impl_->log.clear();
  impl_->log.open(log_path, std::ios::app | std::ios::binary);
  if (!impl_->log) return UnavailableError("cannot write " + log_path);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->output.clear();
  }
  Poco::Pipe in_pipe;
  Poco::Pipe out_pipe;
  Poco::Pipe err_pipe;
  try {
    impl_->child.emplace(Poco::Process::launch(program, args, &in_pipe, &out_pipe, &err_pipe));
  } catch (const Poco::Exception& e) {
    impl_->child.reset();
    return UnavailableError("cannot start " + program + ": " + e.displayText());
  }
  in_pipe.close();  // a server or daemon reads nothing
  Impl* impl = impl_.get();
  impl_->out_reader = std::thread(
      [impl, out_pipe] { Drain(out_pipe, [impl](std::string_view c) { impl->Append(c); }); });
  impl_->err_reader = std::thread(
      [impl, err_pipe] { Drain(err_pipe, [impl](std::string_view c) { impl->Append(c); }); });
  return Status::Ok();
}

bool BackgroundProcess::WaitForOutput(std::string_view text, std::chrono::milliseconds timeout,
                                      const std::atomic<bool>* stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (Output().find(text) != std::string::npos) return true;
    if (!Running() || std::chrono::steady_clock::now() >= deadline ||
        (stop != nullptr && stop->load())) {
      // One last look: the line may have arrived just before it exited.
      std::this_thread::sleep_for(kPollInterval);
      return Output().find(text) != std::string::npos;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool BackgroundProcess::Running() { return impl_->child && !impl_->child->TryWait(); }

long BackgroundProcess::pid() const { return impl_->child ? impl_->child->pid() : 0; }

std::string BackgroundProcess::Output() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->output;
}

bool BackgroundProcess::Stop(std::chrono::milliseconds grace) {
  if (!impl_->child) return true;
  bool graceful = true;
  if (!impl_->child->TryWait()) {
    try {
      Poco::Process::requestTermination(static_cast<Poco::Process::PID>(impl_->child->pid()));
    } catch (const Poco::Exception&) {
    }
    graceful = impl_->child->WaitFor(grace);
    if (!graceful) impl_->child->Kill();
  }
  impl_->JoinReaders();
  return graceful;
}

}  // namespace fhirsync::demo
