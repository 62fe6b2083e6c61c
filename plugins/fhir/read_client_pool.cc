#include "read_client_pool.h"

#include <utility>

namespace fhirsync::fhirplugin {

ReadClientPool::Lease ReadClientPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  returned_.wait(lock, [&] { return !idle_.empty() || made_ < max_; });
  if (!idle_.empty()) {
    std::unique_ptr<fhir::FhirClient> client = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(client));
  }
  ++made_;
  lock.unlock();
  // Made outside the lock: a client does not connect until its first call.
  return Lease(this, std::make_unique<fhir::FhirClient>(options_));
}

void ReadClientPool::Release(std::unique_ptr<fhir::FhirClient> client) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(std::move(client));
  }
  returned_.notify_one();
}

}  // namespace fhirsync::fhirplugin
