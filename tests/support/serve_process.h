// ServeProcess: a real `fhirsync serve` for a node folder, on 127.0.0.1,
// started and stopped by a test. Port 0 lets the OS pick; Restart() brings it
// back on the same port (a parent that went away and returned). Header-only
// over ChildProcess.
//
//   ServeProcess parent(kBinary, parent_dir);
//   ASSERT_TRUE(parent.Start()) << parent.error();
//   ... parent.url() ...
//
// Thread safety: one test thread.

#ifndef FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_
#define FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>

#include "support/subprocess.h"

namespace fhirsync::testing {

class ServeProcess {
 public:
  ServeProcess(std::string binary, std::string dir)
      : binary_(std::move(binary)), dir_(std::move(dir)) {}
  ~ServeProcess() { Stop(); }

  // Starts the server on `port` (0: any free one) and waits until it
  // listens. False with error() set when it does not.
  bool Start(int port = 0) {
    process_ = std::make_unique<ChildProcess>();
    if (!process_->Start({binary_, "serve", "--dir", dir_, "--bind", "127.0.0.1", "--port",
                          std::to_string(port)},
                         {}, &error_)) {
      return false;
    }
    const std::string prefix = "listening on http://127.0.0.1:";
    // A deadline, not a wait: generous because a sanitized build on a
    // loaded machine can take many seconds to open the store.
    if (!process_->WaitForStdout(prefix, std::chrono::seconds(90))) {
      error_ = "serve did not start: " + process_->Stderr();
      return false;
    }
    const std::string out = process_->Stdout();
    port_ = std::stoi(out.substr(out.find(prefix) + prefix.size()));
    return true;
  }

  // Stops it (SIGTERM, then SIGKILL after 20 s) and starts it again on the
  // same port.
  bool Restart() {
    Stop();
    return Start(port_);
  }

  void Stop() {
    if (process_ && process_->Running()) {
      process_->Signal(SIGTERM);
      process_->Wait(std::chrono::seconds(20));
    }
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& error() const { return error_; }

 private:
  std::string binary_;
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  std::string error_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_SERVE_PROCESS_H_
