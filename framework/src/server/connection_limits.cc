#include "server/connection_limits.h"

namespace fhirsync::server {

ConnectionLimits::Lease::~Lease() {
  std::lock_guard<std::mutex> lock(limits_.mu_);
  --limits_.open_;
  auto it = limits_.by_address_.find(address_);
  if (it != limits_.by_address_.end() && --it->second == 0) limits_.by_address_.erase(it);
}

std::unique_ptr<ConnectionLimits::Lease> ConnectionLimits::TryAcquire(const std::string& address,
                                                                       std::string* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (open_ >= total_) {
    *why = "the server has " + std::to_string(open_) +
           " connections open, its limit (server.max_connections)";
    return nullptr;
  }
  int& mine = by_address_[address];
  if (mine >= per_address_) {
    *why = "your address has " + std::to_string(mine) +
           " connections open, the limit per address (server.max_connections_per_address)";
    return nullptr;
  }
  ++mine;
  ++open_;
  return std::unique_ptr<Lease>(new Lease(*this, address));
}

int ConnectionLimits::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

}  // namespace fhirsync::server
