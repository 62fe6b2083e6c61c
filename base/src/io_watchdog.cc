#include "fhirsync/net/io_watchdog.h"

#include <dlfcn.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include <Poco/Exception.h>

#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::net {

struct IoWatch::Entry {
  Poco::Net::StreamSocket socket;
  Clock::time_point deadline;  // max(): none of its own
  IoStop stopped = IoStop::kNone;
};

namespace {

// A stopped socket is shut down again this often until its watch ends: it
// may have had no descriptor yet (the session connects after the watch
// starts), or the session may reconnect.
constexpr auto kRepeat = std::chrono::milliseconds(50);

class Watchdog {
 public:
  // This module's own; Instance() below finds the one the program uses.
  static Watchdog& Own() {
    static Watchdog watchdog;
    return watchdog;
  }

  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      exiting_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Add(IoWatch::Entry* entry) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(entry);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    Check(Clock::now());  // already past a deadline, or cancelled: at once
    wake_.notify_all();
  }

  void Remove(IoWatch::Entry* entry) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.remove(entry);
  }

  IoStop Stopped(const IoWatch::Entry* entry) {
    std::lock_guard<std::mutex> lock(mu_);
    return entry->stopped;
  }

  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    Check(Clock::now());
    wake_.notify_all();
  }

  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  bool Pause(Clock::time_point until) {
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_ || until > process_deadline_) return false;
    // Cancel() notifies wake_, which ends the wait at once.
    return !wake_.wait_until(lock, until, [this] { return cancelled_; });
  }

  void SetProcessDeadline(Clock::time_point deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    process_deadline_ = std::min(process_deadline_, deadline);
    Check(Clock::now());
    wake_.notify_all();
  }

 private:
  Watchdog() = default;

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!exiting_) {
      const Clock::time_point now = Clock::now();
      // Bounded, so that no far-off time point overflows the wait.
      wake_.wait_until(lock, std::min(Check(now), now + std::chrono::minutes(10)));
    }
  }

  // Stops what is due (under mu_); returns when to look again.
  Clock::time_point Check(Clock::time_point now) {
    Clock::time_point next = Clock::time_point::max();
    for (IoWatch::Entry* entry : entries_) {
      if (entry->stopped == IoStop::kNone) {
        if (cancelled_) {
          entry->stopped = IoStop::kCancelled;
        } else if (now >= entry->deadline) {
          entry->stopped = IoStop::kDeadline;
        } else if (now >= process_deadline_) {
          entry->stopped = IoStop::kProcessDeadline;
        } else {
          next = std::min({next, entry->deadline, process_deadline_});
          continue;
        }
      }
      // The descriptor itself, not Poco's shutdown(): for a TLS socket that
      // would also run SSL_shutdown on an SSL object the caller's thread is
      // reading, which OpenSSL does not allow. No descriptor yet, or not
      // connected: shut down again shortly.
      const poco_socket_t fd = entry->socket.impl()->sockfd();
      if (fd != POCO_INVALID_SOCKET) ::shutdown(fd, SHUT_RDWR);
      next = std::min(next, now + kRepeat);
    }
    return next;
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::list<IoWatch::Entry*> entries_;
  bool cancelled_ = false;
  bool exiting_ = false;
  Clock::time_point process_deadline_ = Clock::time_point::max();
  std::thread thread_;
};

}  // namespace
}  // namespace fhirsync::net

// A transport plugin is a module with its own (hidden) copy of this file, so
// a cancellation or a deadline set by the program would not reach the
// requests the plugin makes. The program exports this function (see
// apps/fhirsync/CMakeLists.txt); every copy uses the watchdog it returns
// when it can find it, so there is one per process.
extern "C" __attribute__((visibility("default"))) void* fhirsync_io_watchdog_v1() {
  return &fhirsync::net::Watchdog::Own();
}

namespace fhirsync::net {
namespace {

Watchdog& Instance() {
  static Watchdog* const shared = [] {
    using Get = void* (*)();
    auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "fhirsync_io_watchdog_v1"));
    return get != nullptr ? static_cast<Watchdog*>(get()) : &Watchdog::Own();
  }();
  return *shared;
}

std::string Seconds(int ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s"
                        : std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

}  // namespace

void CancelRemoteCalls() { Instance().Cancel(); }
bool RemoteCallsCancelled() { return Instance().cancelled(); }

bool PauseUnlessStopped(Clock::time_point until) { return Instance().Pause(until); }

void SetRemoteCallDeadline(Clock::time_point deadline) {
  Instance().SetProcessDeadline(deadline);
}

Status IoStopError(IoStop why, const std::string& label, int deadline_ms) {
  const std::string prefix = label.empty() ? std::string() : label + ": ";
  switch (why) {
    case IoStop::kDeadline:
      return DeadlineExceededError(prefix +
                                   "timeout: no complete answer within the deadline of " +
                                   Seconds(deadline_ms) + " (" + kRequestDeadlineOption + ")");
    case IoStop::kProcessDeadline:
      return DeadlineExceededError(
          prefix + "timeout: no complete answer within the time this command was given");
    case IoStop::kCancelled:
      return UnavailableError(prefix + "cancelled: the program is stopping");
    case IoStop::kNone:
      break;
  }
  return Status::Ok();
}

IoWatch::IoWatch(const Poco::Net::StreamSocket& socket, int deadline_ms)
    : entry_(new Entry{socket,
                       deadline_ms > 0 ? Clock::now() + std::chrono::milliseconds(deadline_ms)
                                       : Clock::time_point::max(),
                       IoStop::kNone}) {
  Instance().Add(entry_);
}

IoWatch::~IoWatch() {
  Instance().Remove(entry_);
  delete entry_;
}

IoStop IoWatch::stopped() const { return Instance().Stopped(entry_); }

}  // namespace fhirsync::net
