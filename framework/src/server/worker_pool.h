// WorkerPool: the threads that run the request handlers (internal).
//
// Handlers block (a SQLite or PostgreSQL call), so they run here, apart from
// the I/O threads that read and write connections: a slow or idle client
// costs an I/O thread nothing and a worker nothing. At most `threads` tasks
// run at once and at most `queue` more wait; TrySubmit refuses past that, so
// the caller answers 503 instead of letting the backlog grow.
//
// Thread safety: TrySubmit() may be called from any thread; Stop() from one.

#ifndef FHIRSYNC_SERVER_WORKER_POOL_H_
#define FHIRSYNC_SERVER_WORKER_POOL_H_

#include <atomic>
#include <functional>
#include <memory>

#include <boost/asio/thread_pool.hpp>

namespace fhirsync::server {

class WorkerPool {
 public:
  WorkerPool(int threads, int queue);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `task` on a worker; false (and `task` dropped unrun) when the
  // running and waiting tasks are at their bound or the pool is stopped.
  bool TrySubmit(std::function<void()> task);

  // Drops the tasks not yet started and waits for the running ones.
  // Returns at once when called again.
  void Stop();

 private:
  const int capacity_;  // threads + queue
  std::atomic<int> pending_{0};
  std::atomic<bool> stopped_{false};
  boost::asio::thread_pool pool_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_WORKER_POOL_H_
