// Credentials for NodeServer: making and checking the salted password hashes
// and bearer-token hashes kept in config.server.users / config.server.tokens.
//
// Passwords are stored as PBKDF2-HMAC-SHA256 (kPasswordIterations rounds
// for a new password, the OWASP floor for this hash; 16-byte random salt);
// each user keeps the rounds its hash was made with, so older hashes still
// verify. Tokens are stored as their SHA-256, since a token is already a
// long random secret. No plaintext secret is ever stored. The server pays
// the password check once per credential, not per request (server/auth.h).
//
// Thread safety: free functions, thread-safe.

#ifndef FHIRSYNC_CREDENTIALS_H_
#define FHIRSYNC_CREDENTIALS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/status.h"

namespace fhirsync {

inline constexpr std::int64_t kPasswordIterations = 600000;

// Checks a role list: non-empty, each one of "read", "write", "admin".
// InvalidArgument naming the bad role.
Status ValidateRoles(const std::vector<std::string>& roles);

// A user whose password hash is freshly salted. InvalidArgument for an
// empty or over-long name (letters, digits, "-", "_", ".", "@", at most 64),
// a name containing ':', an empty password, or bad roles.
StatusOr<UserConfig> MakeUser(std::string_view name, std::string_view password,
                              const std::vector<std::string>& roles);

// True when `password` is this user's password (constant-time compare), at
// the user's own PBKDF2 rounds.
bool CheckPassword(const UserConfig& user, std::string_view password);

// A new random bearer token. `token` is the secret to hand out once;
// `config` holds only its hash. Errors as for MakeUser.
struct IssuedToken {
  std::string token;
  TokenConfig config;
};
StatusOr<IssuedToken> IssueToken(std::string_view name, const std::vector<std::string>& roles);

// True when `token` hashes to config.token_hash (constant-time compare).
bool CheckToken(const TokenConfig& config, std::string_view token);

}  // namespace fhirsync

#endif  // FHIRSYNC_CREDENTIALS_H_
