// Running a real program from a test: fork + exec, stdin fed from a string,
// stdout and stderr captured separately, a deadline after which the child is
// killed. Header-only so any test folder can include it
// ("support/subprocess.h" with tests/ on the include path).
//
//   fhirsync::testing::ProcessResult r =
//       fhirsync::testing::RunProcess({binary, "stats", "--dir", dir});
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//
// ChildProcess (below) starts a program that keeps running, such as a
// server, whose output a test polls and which it stops with a signal.
//
// Optionally stderr can be a pseudo-terminal, to test what a program shows
// only on a terminal (progress displays); the terminal turns "\n" into
// "\r\n" in what is captured.
//
// Thread safety: RunProcess may be called from several threads; it touches
// no shared state besides the file descriptors it creates (O_CLOEXEC).

#ifndef FHIRSYNC_TESTS_SUPPORT_SUBPROCESS_H_
#define FHIRSYNC_TESTS_SUPPORT_SUBPROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace fhirsync::testing {

struct ProcessOptions {
  std::string stdin_data;  // written to the child's stdin, then closed
  std::string cwd;         // empty: the test's working folder
  // Extra "NAME=value" entries added to (or overriding) the environment.
  std::vector<std::string> env;
  std::chrono::milliseconds timeout{120000};
  bool stderr_is_terminal = false;
};

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal
  int term_signal = 0;  // the signal that ended it, else 0
  bool timed_out = false;
  std::string out;
  std::string err;
  // ChildProcess::Wait only: the highest VmHWM (peak resident memory, KiB)
  // seen while waiting; 0 if the child had exited before the first look.
  long peak_resident_kb = 0;
  // "exit 2" / "signal 9" / "timed out", for assertion messages.
  std::string Describe() const {
    if (timed_out) return "timed out";
    if (term_signal != 0) return "signal " + std::to_string(term_signal);
    return "exit " + std::to_string(exit_code);
  }
};

namespace subprocess_internal {

inline void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

inline std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const std::string& x : extra) {
      if (x.substr(0, x.find('=')) == name) overridden = true;
    }
    if (!overridden) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace subprocess_internal

// Runs argv[0] (a path; no PATH search) with arguments argv[1..] and waits
// for it. On a setup failure (pipe, fork) returns exit_code -1 with the
// reason in `err`.
inline ProcessResult RunProcess(const std::vector<std::string>& argv,
                                const ProcessOptions& options = {}) {
  using namespace subprocess_internal;
  ProcessResult result;
  if (argv.empty()) {
    result.err = "RunProcess: empty argv";
    return result;
  }
  int in_pipe[2], out_pipe[2], err_pipe[2] = {-1, -1};
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("RunProcess: pipe: ") + std::strerror(errno);
    return result;
  }
  if (options.stderr_is_terminal) {
    // err_pipe[0] is the master side we read, err_pipe[1] the child's stderr.
    if (openpty(&err_pipe[0], &err_pipe[1], nullptr, nullptr, nullptr) != 0) {
      result.err = std::string("RunProcess: openpty: ") + std::strerror(errno);
      return result;
    }
    fcntl(err_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(err_pipe[1], F_SETFD, FD_CLOEXEC);
  } else if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::string("RunProcess: pipe: ") + std::strerror(errno);
    return result;
  }

  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls are allowed.
  std::vector<char*> child_argv;
  for (const std::string& a : argv) child_argv.push_back(const_cast<char*>(a.c_str()));
  child_argv.push_back(nullptr);
  std::vector<std::string> env = MergedEnvironment(options.env);
  std::vector<char*> child_env;
  for (const std::string& e : env) child_env.push_back(const_cast<char*>(e.c_str()));
  child_env.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    result.err = std::string("RunProcess: fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(127);
    execve(child_argv[0], child_argv.data(), child_env.data());
    const char msg[] = "RunProcess: exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  SetNonBlocking(in_pipe[1]);
  SetNonBlocking(out_pipe[0]);
  SetNonBlocking(err_pipe[0]);

  // A child that exits without reading stdin must not kill us with SIGPIPE.
  struct sigaction ignore_pipe = {}, old_pipe = {};
  ignore_pipe.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore_pipe, &old_pipe);

  int in_fd = in_pipe[1];
  std::size_t written = 0;
  if (options.stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0];
  int err_fd = err_pipe[0];
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  char buffer[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    int in_index = -1, out_index = -1, err_index = -1;
    if (in_fd >= 0) { fds[n] = {in_fd, POLLOUT, 0}; in_index = n++; }
    if (out_fd >= 0) { fds[n] = {out_fd, POLLIN, 0}; out_index = n++; }
    if (err_fd >= 0) { fds[n] = {err_fd, POLLIN, 0}; err_index = n++; }
    int ready = poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (in_index >= 0 && fds[in_index].revents != 0) {
      ssize_t w = write(in_fd, options.stdin_data.data() + written,
                        options.stdin_data.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN) written = options.stdin_data.size();  // reader gone
      if (written == options.stdin_data.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    auto drain = [&](int index, int* fd, std::string* sink) {
      if (index < 0 || fds[index].revents == 0) return;
      ssize_t r = read(*fd, buffer, sizeof buffer);
      if (r > 0) {
        sink->append(buffer, static_cast<std::size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        // EOF; a pty master reports EIO once the child side is closed.
        close(*fd);
        *fd = -1;
      }
    };
    drain(out_index, &out_fd, &result.out);
    drain(err_index, &err_fd, &result.err);
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGPIPE, &old_pipe, nullptr);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

// Runs `binary args...` with `stdin_data` on its stdin, within four
// minutes: how the process tests run the fhirsync program.
inline ProcessResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                                const std::string& stdin_data = "") {
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::seconds(240);
  return RunProcess(argv, options);
}


// A program left running while the test talks to it (a `fhirsync serve`).
// Its stdout and stderr go to temporary files, so it never blocks on a full
// pipe however much it logs; the test polls them. The destructor kills
// (SIGKILL) and reaps a child that is still running and removes the files.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap(true);
    }
    if (!out_path_.empty()) std::remove(out_path_.c_str());
    if (!err_path_.empty()) std::remove(err_path_.c_str());
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Starts argv[0] (a path). stdin is /dev/null unless `options.stdin_data`
  // is given (written to a file first). Returns false with `*error` set when
  // the process could not be started. `timeout` and `stderr_is_terminal`
  // are ignored.
  bool Start(const std::vector<std::string>& argv, const ProcessOptions& options,
             std::string* error) {
    const char* base = std::getenv("TMPDIR");
    std::string dir = base != nullptr && *base ? base : "/tmp";
    int out_fd = MakeTemp(dir + "/fhirsync-child-out-XXXXXX", &out_path_);
    int err_fd = MakeTemp(dir + "/fhirsync-child-err-XXXXXX", &err_path_);
    std::string in_path;
    int in_fd = MakeTemp(dir + "/fhirsync-child-in-XXXXXX", &in_path);
    if (out_fd < 0 || err_fd < 0 || in_fd < 0) {
      *error = std::string("ChildProcess: mkstemp: ") + std::strerror(errno);
      return false;
    }
    if (!options.stdin_data.empty() &&
        write(in_fd, options.stdin_data.data(), options.stdin_data.size()) !=
            static_cast<ssize_t>(options.stdin_data.size())) {
      *error = "ChildProcess: cannot write stdin file";
      return false;
    }
    lseek(in_fd, 0, SEEK_SET);
    std::remove(in_path.c_str());  // the open descriptor keeps the data
    std::vector<char*> child_argv;
    for (const std::string& a : argv) child_argv.push_back(const_cast<char*>(a.c_str()));
    child_argv.push_back(nullptr);
    exec_name_ = argv.empty() ? std::string() : argv[0].substr(argv[0].rfind('/') + 1, 15);
    std::vector<std::string> env = subprocess_internal::MergedEnvironment(options.env);
    std::vector<char*> child_env;
    for (const std::string& e : env) child_env.push_back(const_cast<char*>(e.c_str()));
    child_env.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
      *error = std::string("ChildProcess: fork: ") + std::strerror(errno);
      return false;
    }
    if (pid == 0) {
      dup2(in_fd, STDIN_FILENO);
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(127);
      execve(child_argv[0], child_argv.data(), child_env.data());
      _exit(127);
    }
    close(in_fd);
    close(out_fd);
    close(err_fd);
    pid_ = pid;
    return true;
  }

  pid_t pid() const { return pid_; }
  // What the child has written so far.
  std::string Stdout() const { return ReadAll(out_path_); }
  std::string Stderr() const { return ReadAll(err_path_); }

  // Polls stdout until it contains `needle`. Returns false if the deadline
  // passes or the child exits first (check Stderr() for why).
  bool WaitForStdout(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (Stdout().find(needle) != std::string::npos) return true;
      if (!Running() || std::chrono::steady_clock::now() >= deadline) {
        return Stdout().find(needle) != std::string::npos;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // True while the child has not exited.
  bool Running() {
    if (pid_ <= 0) return false;
    return !Reap(false);
  }

  // Sends `signal` (SIGTERM, SIGINT, SIGKILL). False if it is not running.
  bool Signal(int signal) { return pid_ > 0 && kill(pid_, signal) == 0; }

  // The program's peak resident memory so far in KiB (VmHWM in
  // /proc/PID/status), or 0 when it cannot be read (not running, or not yet
  // past exec: until then the process is a copy of the test's, and so is
  // its memory; wait4's ru_maxrss counts that copy too).
  long PeakResidentKb() const {
    if (pid_ <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    long peak = 0;
    bool executed = false;
    while (std::getline(in, line)) {
      // Name: the first 15 bytes of the executable's file name, set by exec.
      if (line.rfind("Name:", 0) == 0) {
        std::string name = line.substr(5);
        name.erase(0, name.find_first_not_of(" \t"));
        executed = name == exec_name_;
      }
      if (line.rfind("VmHWM:", 0) == 0) peak = std::atol(line.c_str() + 6);
    }
    return executed ? peak : 0;
  }

  // Waits for the child to exit; kills it with SIGKILL after `timeout`
  // (then timed_out is set). Fills out/err from the files, and
  // peak_resident_kb from VmHWM read every 5 ms while waiting.
  ProcessResult Wait(std::chrono::milliseconds timeout) {
    ProcessResult result;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      result.peak_resident_kb = std::max(result.peak_resident_kb, PeakResidentKb());
      if (Reap(false)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        result.timed_out = true;
        kill(pid_, SIGKILL);
        Reap(true);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(status_)) result.exit_code = WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) result.term_signal = WTERMSIG(status_);
    result.out = Stdout();
    result.err = Stderr();
    return result;
  }

 private:
  static int MakeTemp(std::string pattern, std::string* path) {
    int fd = mkstemp(pattern.data());
    if (fd >= 0) {
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      *path = pattern;
    }
    return fd;
  }
  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // True once the child is reaped (pid_ becomes 0).
  bool Reap(bool block) {
    if (pid_ <= 0) return true;
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_ || r < 0) {
      status_ = status;
      pid_ = 0;
      return true;
    }
    return false;
  }

  pid_t pid_ = 0;
  int status_ = 0;
  std::string exec_name_;  // what /proc/PID/status names the program after exec
  std::string out_path_;
  std::string err_path_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SUBPROCESS_H_
