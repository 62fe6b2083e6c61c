#include "server/auth.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPBasicCredentials.h>

#include "core/text_util.h"
#include "fhirsync/credentials.h"
#include "server/http_types.h"

namespace fhirsync::server {

namespace {

constexpr std::size_t kMaxCachedIdentities = 1024;

Identity IdentityFrom(const std::string& name, const std::vector<std::string>& roles) {
  Identity identity;
  identity.name = name;
  for (const std::string& role : roles) {
    if (role == "read") identity.read = true;
    if (role == "write") identity.write = true;
    if (role == "admin") identity.admin = true;
  }
  return identity;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kRead: return "read";
    case Role::kWrite: return "write";
    case Role::kAdmin: return "admin";
  }
  return "admin";
}

bool Identity::Has(Role role) const {
  if (admin) return true;
  switch (role) {
    case Role::kRead: return read;
    case Role::kWrite: return write;
    case Role::kAdmin: return false;
  }
  return false;
}

Authenticator::Authenticator(const ServerConfig& config)
    : users_(config.users), tokens_(config.tokens) {}

StatusOr<Identity> Authenticator::Authenticate(const std::string* authorization) {
  if (authorization == nullptr || authorization->empty()) {
    return UnauthenticatedError("credentials required (HTTP Basic or a Bearer token)");
  }
  std::string_view header = *authorization;
  std::size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? "" : header.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (EqualsIgnoreCase(scheme, "Basic")) return CheckBasic(rest);
  if (EqualsIgnoreCase(scheme, "Bearer")) return CheckBearer(rest);
  return UnauthenticatedError("unsupported authorization scheme '" + EscapeForMessage(scheme) +
                              "' (use Basic or Bearer)");
}

StatusOr<Identity> Authenticator::CheckBasic(std::string_view credentials) {
  std::string key = Sha256Hex(credentials);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = verified_.find(key);
    if (it != verified_.end()) return it->second;
  }
  std::string username;
  std::string password;
  try {
    Poco::Net::HTTPBasicCredentials parsed{std::string(credentials)};
    username = parsed.getUsername();
    password = parsed.getPassword();
  } catch (const Poco::Exception&) {
    return UnauthenticatedError("malformed Basic credentials (expected base64 of user:password)");
  }
  const UserConfig* user = nullptr;
  for (const UserConfig& candidate : users_) {
    if (candidate.name == username) user = &candidate;
  }
  // Spend the same PBKDF2 work for an unknown user, so response time does
  // not reveal which user names exist.
  static const UserConfig kNobody{"", "00", "", {}};
  bool ok = CheckPassword(user != nullptr ? *user : kNobody, password) && user != nullptr;
  if (!ok) return UnauthenticatedError("unknown user or wrong password");
  Identity identity = IdentityFrom(user->name, user->roles);
  std::lock_guard<std::mutex> lock(mutex_);
  if (verified_.size() >= kMaxCachedIdentities) verified_.clear();
  verified_.emplace(std::move(key), identity);
  return identity;
}

StatusOr<Identity> Authenticator::CheckBearer(std::string_view token) {
  if (token.empty()) return UnauthenticatedError("empty Bearer token");
  const TokenConfig* match = nullptr;
  for (const TokenConfig& candidate : tokens_) {
    // Every token is compared (no early exit) for constant time.
    if (CheckToken(candidate, token)) match = &candidate;
  }
  if (match == nullptr) return UnauthenticatedError("unknown Bearer token");
  return IdentityFrom(match->name, match->roles);
}

Status Authenticator::Authorize(const Identity& identity, Role needed) {
  if (identity.Has(needed)) return Status::Ok();
  return PermissionDeniedError("'" + identity.name + "' lacks the " +
                               std::string(RoleName(needed)) + " role this request needs");
}

}  // namespace fhirsync::server
