#include "server/active_requests.h"

namespace fhirsync::server {

ActiveRequests::Scope::Scope(ActiveRequests& requests, std::function<void()> cut_off)
    : requests_(requests) {
  std::lock_guard<std::mutex> lock(requests_.mu_);
  if (requests_.cut_off_) {
    cut_off();
    cut_off = nullptr;
  }
  id_ = requests_.next_id_++;
  requests_.active_.emplace(id_, std::move(cut_off));
}

ActiveRequests::Scope::~Scope() {
  std::lock_guard<std::mutex> lock(requests_.mu_);
  requests_.active_.erase(id_);
  if (requests_.active_.empty()) requests_.idle_.notify_all();
}

bool ActiveRequests::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_for(lock, timeout, [this] { return active_.empty(); });
}

void ActiveRequests::CutOff() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_off_ = true;
  for (auto& [id, cut] : active_) {
    if (cut) cut();
    cut = nullptr;
  }
}

}  // namespace fhirsync::server
