// ServeProcess: a real `fhirsync serve` process on 127.0.0.1 with a port the
// OS picks, for tests that need a parent node in its own process. Start()
// waits for the "listening on http://127.0.0.1:PORT" line and reads the port
// from it. Header-only.
//
// Thread safety: one object per thread.

#ifndef FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_
#define FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_

#include <signal.h>

#include <chrono>
#include <string>

#include "support/subprocess.h"

namespace fhirsync::testing {

class ServeProcess {
 public:
  // `binary` is the fhirsync program, `dir` an initialised node folder.
  ServeProcess(std::string binary, std::string dir)
      : binary_(std::move(binary)), dir_(std::move(dir)) {}
  ~ServeProcess() { Stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Starts the server and waits (up to 30 s) for its address. False with
  // `*error` saying why (what the process wrote on stderr) otherwise.
  bool Start(std::string* error) {
    if (!process_.Start({binary_, "serve", "--dir", dir_, "--bind", "127.0.0.1", "--port", "0"},
                        {}, error)) {
      return false;
    }
    const std::string prefix = "listening on http://127.0.0.1:";
    if (!process_.WaitForStdout(prefix, std::chrono::seconds(30))) {
      *error = "serve did not print its address: " + process_.Stderr();
      return false;
    }
    const std::string out = process_.Stdout();
    port_ = std::stoi(out.substr(out.find(prefix) + prefix.size()));
    return true;
  }

  // SIGTERM, then waits up to 20 s (SIGKILL after that).
  void Stop() {
    if (process_.Running()) {
      process_.Signal(SIGTERM);
      process_.Wait(std::chrono::seconds(20));
    }
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string Stderr() const { return process_.Stderr(); }

 private:
  std::string binary_;
  std::string dir_;
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_
