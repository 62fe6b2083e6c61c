// Authentication and authorisation of requests (internal).
//
// Identities come from config.server.users (HTTP Basic, PBKDF2 hashes) and
// config.server.tokens (Bearer, SHA-256 hashes). The password check is paid
// once per credential: a verified Basic header is remembered by its
// HMAC-SHA256 under a key made at start-up (so the cache in memory is no
// dictionary an attacker could test guesses against), and only hashes are
// kept, never the password. Failed logins are throttled per (user, client
// address) before any password is checked (login_throttle.h).
//
// When given the node folder, the users and tokens are re-read from its
// fhirsync.json when the file changes (looked at no more than every
// 250 ms), so `fhirsync user add` and `user remove` take effect on a
// running server within a second; the verified-credential cache is dropped
// at each reload.
//
// Thread safety: Authenticate() may be called from many threads at once.

#ifndef FHIRSYNC_SERVER_AUTH_H_
#define FHIRSYNC_SERVER_AUTH_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/status.h"
#include "server/login_throttle.h"

namespace fhirsync::server {

enum class Role { kRead, kWrite, kAdmin };
std::string_view RoleName(Role role);

struct Identity {
  std::string name;
  bool read = false;
  bool write = false;
  bool admin = false;  // admin implies read and write

  bool Has(Role role) const;
};

inline constexpr char kWwwAuthenticate[] = "Basic realm=\"fhirsync\", Bearer realm=\"fhirsync\"";

class Authenticator {
 public:
  struct Options {
    // The node folder whose fhirsync.json is re-read when it changes; empty:
    // the users and tokens given at construction stay.
    std::string reload_dir;
    LoginThrottle::Options throttle;
    // Receives a line for each failed reload (the old users stay in force).
    std::function<void(std::string_view)> warn;
  };

  // What a request claimed, for the access log and the throttle's answer.
  struct Attempt {
    std::string user;                  // the Basic user name or token owner, if any
    std::int64_t retry_after_seconds = 0;  // > 0: throttled, answer 429
  };

  explicit Authenticator(const ServerConfig& config);
  Authenticator(const ServerConfig& config, Options options);

  // `authorization` is the Authorization header (nullptr when absent);
  // `client_address` the peer's IP address; `certificate_name` the subject
  // CN of the client's TLS certificate, verified against
  // server.tls.client_ca_file (empty without one): a request without an
  // Authorization header is that user when a user has that name.
  // Unauthenticated naming the reason (missing, unsupported scheme,
  // malformed, unknown user or wrong password, unknown token, a certificate
  // naming no user, or too many failed logins, in which case
  // attempt->retry_after_seconds says how long to wait).
  StatusOr<Identity> Authenticate(const std::string* authorization,
                                  std::string_view client_address, Attempt* attempt,
                                  std::string_view certificate_name = {});

  // PermissionDenied naming the identity and the missing role.
  static Status Authorize(const Identity& identity, Role needed);

 private:
  struct Credentials {
    std::vector<UserConfig> users;
    std::vector<TokenConfig> tokens;
  };
  std::shared_ptr<const Credentials> Current();
  void ReloadIfChanged();
  StatusOr<Identity> CheckBasic(const Credentials& credentials, std::string_view header_value,
                                std::string_view client_address, Attempt* attempt);
  StatusOr<Identity> CheckBearer(const Credentials& credentials, std::string_view token,
                                 Attempt* attempt);
  std::string CacheKey(std::string_view header_value) const;

  const Options options_;
  const std::string cache_key_secret_;  // random, made at construction
  LoginThrottle throttle_;

  std::mutex mutex_;  // guards the members below
  std::shared_ptr<const Credentials> credentials_;
  // Keyed hash of a verified Basic header value -> identity.
  std::unordered_map<std::string, Identity> verified_;

  // The reload check: when it is next due (steady ms), and what the file
  // looked like at the last load (mtime ns, size, inode).
  std::atomic<std::int64_t> next_check_ms_{0};
  std::mutex reload_mutex_;
  std::int64_t loaded_mtime_ns_ = -1;
  std::int64_t loaded_size_ = -1;
  ino_t loaded_inode_ = 0;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_AUTH_H_
