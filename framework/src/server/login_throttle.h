// LoginThrottle: slows password guessing (internal). Failed logins are
// counted per (user name, client address); after a few, that pair must wait
// before its next try, and the wait doubles with each further failure.
//
// Why per pair: a guesser at one address cannot lock a user out everywhere,
// and one user's typos do not lock out the other users behind the same
// address (a clinic's NAT). The refusal comes before the password check, so
// guessing also stops costing the server a PBKDF2 run per try.
//
// Thread safety: all methods may be called from many threads at once.

#ifndef FHIRSYNC_SERVER_LOGIN_THROTTLE_H_
#define FHIRSYNC_SERVER_LOGIN_THROTTLE_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fhirsync::server {

class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    // Failures allowed before the first wait.
    int free_failures = 5;
    // The first wait; each further failure doubles it, up to max_wait.
    std::chrono::seconds first_wait{1};
    std::chrono::seconds max_wait{300};
    // A pair with no failure for this long starts again from zero.
    std::chrono::seconds forget_after{900};
    // Pairs remembered at most; past it, forgotten pairs are dropped first,
    // then the least recently failed ones, so memory stays bounded under a
    // flood of made-up names and addresses.
    std::size_t max_pairs = 100000;
  };

  LoginThrottle();
  explicit LoginThrottle(Options options);

  // Whole seconds (at least 1) this pair must still wait before a login is
  // tried; 0 when it may try now.
  std::int64_t RetryAfterSeconds(std::string_view user, std::string_view address,
                                 Clock::time_point now = Clock::now());

  // Counts a failed login; returns the number of failures in a row.
  int RecordFailure(std::string_view user, std::string_view address,
                    Clock::time_point now = Clock::now());

  // A successful login clears the pair's failures.
  void RecordSuccess(std::string_view user, std::string_view address);

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point last_failure;
    Clock::time_point blocked_until;
  };
  static std::string Key(std::string_view user, std::string_view address);
  void Shrink(Clock::time_point now);  // mutex_ held

  const Options options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_LOGIN_THROTTLE_H_
