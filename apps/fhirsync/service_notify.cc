#include "service_notify.h"

#include <unistd.h>

#include <string>

#include <systemd/sd-daemon.h>

namespace fhirsync::cli {
namespace {

void Notify(std::string_view state, std::string_view status) {
  std::string message(state);
  message += "\nSTATUS=";
  message += status;
  message += "\nMAINPID=" + std::to_string(::getpid());
  // unset_environment = 0: the plugins and any child keep NOTIFY_SOCKET.
  sd_notify(0, message.c_str());
}

}  // namespace

void NotifyReady(std::string_view status) { Notify("READY=1", status); }

void NotifyStopping(std::string_view status) { Notify("STOPPING=1", status); }

}  // namespace fhirsync::cli
