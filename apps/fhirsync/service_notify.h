// The service manager's readiness protocol for the two long-running verbs
// (`serve`, `sync --watch`), so that their systemd units can be Type=notify:
// systemd then starts units ordered after them only once they really
// listen or run, and shows their state in `systemctl status`.
//
// Sent with libsystemd's sd_notify() to $NOTIFY_SOCKET; without it (not
// started by systemd) every call does nothing. Failures to send are ignored:
// the service works the same, only the manager knows less.
//
// Thread safety: thread-safe (each call is one datagram).

#ifndef FHIRSYNC_APPS_FHIRSYNC_SERVICE_NOTIFY_H_
#define FHIRSYNC_APPS_FHIRSYNC_SERVICE_NOTIFY_H_

#include <string_view>

namespace fhirsync::cli {

// READY=1 with STATUS=`status` ("listening on http://127.0.0.1:8080") and
// the MAINPID.
void NotifyReady(std::string_view status);

// STOPPING=1 with STATUS=`status`: a stop signal arrived and the service is
// finishing its work before it exits.
void NotifyStopping(std::string_view status);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_SERVICE_NOTIFY_H_
