// The overall bound on a remote call (internal). Poco's socket timeouts are
// per receive: a peer that drips one byte a second never trips them, and
// holds a request, a pull, `status` or a stopping daemon for ever. An
// IoWatch watches the socket of one HTTP exchange and shuts it down (which
// wakes a blocked connect, send or receive at once) when the first of these
// comes:
//   - the exchange's own deadline (parent.request_deadline_seconds);
//   - the process's deadline (SetRemoteCallDeadline: `fhirsync status
//     --timeout S` bounds the whole command with it);
//   - CancelRemoteCalls() (SIGTERM/SIGINT: the program is stopping).
// The caller then maps the failed I/O to the reason stopped() gives. The
// socket is only shut down, never closed, by the watchdog's thread, so its
// descriptor cannot be reused under the caller's feet; the caller resets
// the session afterwards as after any failed exchange. Host name lookup is
// not interruptible (give the parent as an address or a local name).
//
// Thread safety: everything here may be called from any thread; one
// background thread (started with the first IoWatch) does the shutting.

#ifndef FHIRSYNC_NET_IO_WATCHDOG_H_
#define FHIRSYNC_NET_IO_WATCHDOG_H_

#include <chrono>
#include <string>

#include <Poco/Net/StreamSocket.h>

#include "fhirsync/status.h"

namespace fhirsync::net {

using Clock = std::chrono::steady_clock;

enum class IoStop {
  kNone,             // not stopped
  kDeadline,         // the exchange's own deadline passed
  kProcessDeadline,  // the process's deadline (SetRemoteCallDeadline) passed
  kCancelled,        // CancelRemoteCalls()
};

// Ends every remote call in flight now and fails every later one at once
// (for good: the process is stopping).
void CancelRemoteCalls();
bool RemoteCallsCancelled();

// Waits until `until` (a client told by the remote to come back later).
// False at once, without waiting, when `until` is past the process's
// deadline or calls are cancelled; false as soon as they are cancelled
// while it waits; true when the time came.
bool PauseUnlessStopped(Clock::time_point until);

// No remote call may run past `deadline` (a hard bound on a whole command).
// Only ever brought forward.
void SetRemoteCallDeadline(Clock::time_point deadline);

// The error for an exchange stopped for `why`, starting with `label`
// ("GET /feed/recent: "; none when empty); `deadline_ms` is the exchange's
// own.
// kDeadlineExceeded for a deadline, kUnavailable for a cancellation (a
// transient failure: the work is done again next time).
Status IoStopError(IoStop why, const std::string& label, int deadline_ms);

class IoWatch {
 public:
  // Watches `socket` (a handle sharing the session's socket, so a socket
  // the session connects later is covered too) until destroyed.
  // `deadline_ms` <= 0: no deadline of its own.
  IoWatch(const Poco::Net::StreamSocket& socket, int deadline_ms);
  ~IoWatch();
  IoWatch(const IoWatch&) = delete;
  IoWatch& operator=(const IoWatch&) = delete;

  // Why the socket was shut down; kNone while it was not.
  IoStop stopped() const;

  struct Entry;

 private:
  Entry* entry_;
};

}  // namespace fhirsync::net

#endif  // FHIRSYNC_NET_IO_WATCHDOG_H_
