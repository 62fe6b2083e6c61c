#include "server/active_requests.h"

#include <Poco/Exception.h>

namespace fhirsync::server {
namespace {

void ShutDown(Poco::Net::StreamSocket* socket) {
  try {
    socket->shutdown();
  } catch (const Poco::Exception&) {
    // Already closed by the peer: nothing to cut off.
  }
}

}  // namespace

ActiveRequests::Scope::Scope(ActiveRequests& requests, Poco::Net::StreamSocket* socket)
    : requests_(requests), socket_(socket) {
  if (socket_ == nullptr) return;
  std::lock_guard<std::mutex> lock(requests_.mu_);
  requests_.sockets_.insert(socket_);
  if (requests_.cut_off_) ShutDown(socket_);
}

ActiveRequests::Scope::~Scope() {
  if (socket_ == nullptr) return;
  std::lock_guard<std::mutex> lock(requests_.mu_);
  requests_.sockets_.erase(socket_);
  if (requests_.sockets_.empty()) requests_.idle_.notify_all();
}

bool ActiveRequests::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_for(lock, timeout, [this] { return sockets_.empty(); });
}

void ActiveRequests::CutOff() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_off_ = true;
  for (Poco::Net::StreamSocket* socket : sockets_) ShutDown(socket);
}

}  // namespace fhirsync::server
