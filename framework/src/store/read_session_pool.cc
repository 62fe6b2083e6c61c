#include "store/read_session_pool.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <utility>

namespace fhirsync::store {

struct ReadSessionPool::Lease::Entry {
  explicit Entry(Poco::Data::Session made) : session(std::move(made)) {}
  Poco::Data::Session session;
  std::unique_ptr<SessionState> state;
};

ReadSessionPool::Lease::~Lease() {
  if (entry_ != nullptr) pool_->Return(entry_);
}

Poco::Data::Session& ReadSessionPool::Lease::session() const { return entry_->session; }

std::unique_ptr<ReadSessionPool::SessionState>& ReadSessionPool::Lease::state() const {
  return entry_->state;
}

ReadSessionPool::ReadSessionPool(Factory factory, std::size_t max_sessions)
    : factory_(std::move(factory)), max_sessions_(std::max<std::size_t>(max_sessions, 1)) {
  all_.push_back(std::make_unique<Lease::Entry>(factory_()));
  idle_.push_back(all_.back().get());
}

ReadSessionPool::~ReadSessionPool() {
  for (auto& entry : all_) {
    entry->state.reset();
    try {
      entry->session.close();
    } catch (const Poco::Exception&) {
      // Closing can only fail on a connection that is already gone.
    }
  }
}

ReadSessionPool::Lease ReadSessionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (idle_.empty()) {
    if (all_.size() + making_ < max_sessions_) {
      // Made outside the lock: connecting can take a while (PostgreSQL).
      ++making_;
      lock.unlock();
      std::unique_ptr<Lease::Entry> made;
      try {
        made = std::make_unique<Lease::Entry>(factory_());
      } catch (const Poco::Exception&) {
        // The first session exists, so this one is only extra concurrency:
        // wait for a lent session instead, and do not try again.
      }
      lock.lock();
      --making_;
      if (made != nullptr) {
        all_.push_back(std::move(made));
        return Lease(this, all_.back().get());
      }
      max_sessions_ = all_.size();
      continue;
    }
    returned_.wait(lock);
  }
  Lease::Entry* entry = idle_.back();
  idle_.pop_back();
  return Lease(this, entry);
}

std::size_t ReadSessionPool::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return all_.size();
}

void ReadSessionPool::Return(Lease::Entry* entry) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(entry);
  }
  returned_.notify_one();
}

}  // namespace fhirsync::store
