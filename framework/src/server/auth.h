// Authentication and authorisation of requests (internal).
//
// Identities come from config.server.users (HTTP Basic, PBKDF2 hashes) and
// config.server.tokens (Bearer, SHA-256 hashes). A successful Basic check
// is remembered by the SHA-256 of the Authorization header value, so a
// keep-alive client does not pay PBKDF2 on every request; only hashes are
// kept in memory, never the password.
//
// Thread safety: Authenticate() may be called from many threads at once.

#ifndef FHIRSYNC_SERVER_AUTH_H_
#define FHIRSYNC_SERVER_AUTH_H_

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/status.h"

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
  explicit Authenticator(const ServerConfig& config);

  // `authorization` is the Authorization header (nullptr when absent).
  // Unauthenticated naming the reason (missing, unsupported scheme, malformed,
  // unknown user or wrong password, unknown token) on failure.
  StatusOr<Identity> Authenticate(const std::string* authorization);

  // PermissionDenied naming the identity and the missing role.
  static Status Authorize(const Identity& identity, Role needed);

 private:
  StatusOr<Identity> CheckBasic(std::string_view credentials);
  StatusOr<Identity> CheckBearer(std::string_view token);

  std::vector<UserConfig> users_;
  std::vector<TokenConfig> tokens_;
  std::mutex mutex_;
  // SHA-256 hex of a verified Basic header value -> identity.
  std::unordered_map<std::string, Identity> verified_;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_AUTH_H_
