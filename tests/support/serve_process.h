// ServeProcess: a real `fhirsync serve` process on 127.0.0.1 with a port the
// OS picks (--port 0), for tests that need a parent as a separate program.
// Start() waits for the "listening on http://127.0.0.1:PORT" line and reads
// the port from it; Stop() ends it with SIGTERM (the graceful path). The
// destructor stops a process still running. Header-only, on top of
// ChildProcess (subprocess.h).
//
//   fhirsync::testing::ServeProcess parent;
//   std::string error;
//   ASSERT_TRUE(parent.Start(FHIRSYNC_BINARY, dir, &error)) << error;
//   ... parent.url() ...
//
// Thread safety: one object per thread.

#ifndef FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_
#define FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/subprocess.h"

namespace fhirsync::testing {

class ServeProcess {
 public:
  ServeProcess() = default;
  ~ServeProcess() { Stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts `binary serve --dir dir --bind 127.0.0.1 --port 0` plus `extra`
  // arguments and waits up to `deadline` for its listening line. False with
  // `*error` saying why (the process's stderr when it never listened).
  bool Start(const std::string& binary, const std::string& dir, std::string* error,
             std::chrono::milliseconds deadline = std::chrono::seconds(30),
             const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{binary, "serve", "--dir", dir, "--bind", "127.0.0.1", "--port",
                                  "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!process_.Start(argv, {}, error)) return false;
    const std::string prefix = "listening on http://127.0.0.1:";
    if (!process_.WaitForStdout(prefix, deadline)) {
      *error = "serve printed no listening line; stderr: " + process_.Stderr();
      return false;
    }
    const std::string out = process_.Stdout();
    port_ = std::stoi(out.substr(out.find(prefix) + prefix.size()));
    if (port_ <= 0) {
      *error = "serve printed no port: " + out;
      return false;
    }
    return true;
  }

  // SIGTERM, then waits up to `timeout` (SIGKILL after it). What the process
  // wrote and how it ended; a default result when it was not running.
  ProcessResult Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (!process_.Running()) return {};
    process_.Signal(SIGTERM);
    return process_.Wait(timeout);
  }

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return process_; }

 private:
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_
