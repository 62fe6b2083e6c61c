// ReadSessionPool: the store's read connections (internal).
//
// Reads run on a pool of sessions so that several threads read at once:
// SQLite in WAL mode and PostgreSQL both let readers run beside each other
// and beside a writer. Each pooled session also carries state its backend
// keeps between calls (see SessionState), which is what lets a hot read skip
// preparing its statement again.
//
// Sessions are made on demand, up to a maximum; Acquire() waits while all
// are lent. The first session is made by the constructor, so a store that
// cannot connect fails at open; a later session that cannot be made only
// means less concurrency (Acquire() then waits for a lent one).
//
// Poco::Data::SessionPool does not fit: it throws instead of waiting when
// exhausted, closes idle sessions from a timer thread, and has no place for
// state kept with a session.
//
// Thread safety: Acquire() may be called from any thread. A Lease, and the
// session and state it lends, are for the one thread that holds it.

#ifndef FHIRSYNC_STORE_READ_SESSION_POOL_H_
#define FHIRSYNC_STORE_READ_SESSION_POOL_H_

#include <Poco/Data/Session.h>

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace fhirsync::store {

class ReadSessionPool {
 public:
  // What a backend keeps with one session (e.g. a prepared statement). It is
  // destroyed before its session is closed.
  class SessionState {
   public:
    virtual ~SessionState() = default;
  };

  // Makes one connected, configured session; throws Poco exceptions.
  using Factory = std::function<Poco::Data::Session()>;

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), entry_(other.entry_) {
      other.entry_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Poco::Data::Session& session() const;
    // Empty until a backend puts its state there; kept with the session.
    std::unique_ptr<SessionState>& state() const;

   private:
    friend class ReadSessionPool;
    struct Entry;
    Lease(ReadSessionPool* pool, Entry* entry) : pool_(pool), entry_(entry) {}
    ReadSessionPool* pool_;
    Entry* entry_;
  };

  // Makes the first session with `factory` now (its exceptions propagate);
  // more are made on demand, at most `max_sessions` (at least 1) in all.
  ReadSessionPool(Factory factory, std::size_t max_sessions);
  // Closes every session. Every Lease must have been returned.
  ~ReadSessionPool();

  ReadSessionPool(const ReadSessionPool&) = delete;
  ReadSessionPool& operator=(const ReadSessionPool&) = delete;

  // Lends an idle session, making one if none is idle and the maximum is not
  // reached, else waits for one. Never throws.
  Lease Acquire();

  // Sessions made so far (for tests).
  std::size_t size() const;

 private:
  void Return(Lease::Entry* entry);

  const Factory factory_;
  mutable std::mutex mutex_;
  std::size_t max_sessions_;                        // under mutex_
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Lease::Entry>> all_;  // under mutex_
  std::vector<Lease::Entry*> idle_;                 // under mutex_
  std::size_t making_ = 0;                          // sessions being made, under mutex_
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_READ_SESSION_POOL_H_
