#include "server/worker_pool.h"

#include <boost/asio/post.hpp>

namespace fhirsync::server {

WorkerPool::WorkerPool(int threads, int queue)
    : capacity_(threads + queue), pool_(static_cast<std::size_t>(threads)) {}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::TrySubmit(std::function<void()> task) {
  if (stopped_.load()) return false;
  if (pending_.fetch_add(1) >= capacity_) {
    pending_.fetch_sub(1);
    return false;
  }
  boost::asio::post(pool_, [this, task = std::move(task)] {
    task();
    pending_.fetch_sub(1);
  });
  return true;
}

void WorkerPool::Stop() {
  if (stopped_.exchange(true)) return;
  pool_.stop();
  pool_.join();
}

}  // namespace fhirsync::server
