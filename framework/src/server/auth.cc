#include "server/auth.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPBasicCredentials.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <chrono>

#include "fhirsync/base/text_util.h"
#include "fhirsync/credentials.h"
#include "server/http_types.h"

namespace fhirsync::server {

namespace {

constexpr std::size_t kMaxCachedIdentities = 1024;
constexpr std::int64_t kReloadCheckMs = 250;

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

std::string RandomSecret() {
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()),
                 static_cast<int>(secret.size())) != 1) {
    // No randomness: the cache key is then a plain SHA-256, as before.
    secret.clear();
  }
  return secret;
}

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct FileStamp {
  std::int64_t mtime_ns = -1;
  std::int64_t size = -1;
  ino_t inode = 0;
};

FileStamp StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size), st.st_ino};
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

Authenticator::Authenticator(const ServerConfig& config) : Authenticator(config, Options{}) {}

Authenticator::Authenticator(const ServerConfig& config, Options options)
    : options_(std::move(options)),
      cache_key_secret_(RandomSecret()),
      throttle_(options_.throttle),
      credentials_(std::make_shared<const Credentials>(Credentials{config.users, config.tokens})) {
  if (!options_.reload_dir.empty()) {
    const FileStamp stamp = StampOf(options_.reload_dir + "/" + kConfigFileName);
    loaded_mtime_ns_ = stamp.mtime_ns;
    loaded_size_ = stamp.size;
    loaded_inode_ = stamp.inode;
    next_check_ms_ = SteadyMs() + kReloadCheckMs;
  }
}

std::shared_ptr<const Authenticator::Credentials> Authenticator::Current() {
  std::lock_guard<std::mutex> lock(mutex_);
  return credentials_;
}

void Authenticator::ReloadIfChanged() {
  if (options_.reload_dir.empty()) return;
  const std::int64_t now = SteadyMs();
  std::int64_t due = next_check_ms_.load(std::memory_order_relaxed);
  // One thread looks per interval; the others go on with what they have.
  if (now < due || !next_check_ms_.compare_exchange_strong(due, now + kReloadCheckMs)) return;
  std::lock_guard<std::mutex> reload(reload_mutex_);
  const FileStamp stamp = StampOf(options_.reload_dir + "/" + kConfigFileName);
  if (stamp.mtime_ns == loaded_mtime_ns_ && stamp.size == loaded_size_ &&
      stamp.inode == loaded_inode_) {
    return;
  }
  StatusOr<NodeConfig> config = LoadNodeConfig(options_.reload_dir);
  if (!config.ok()) {
    // The file may be half-way through an edit by hand; the next change is
    // looked at again, and the users in force stay until then.
    if (options_.warn) {
      options_.warn("warning: users not reloaded, the previous ones stay in force: " +
                    config.status().message());
    }
  } else {
    auto fresh = std::make_shared<const Credentials>(
        Credentials{config->server.users, config->server.tokens});
    std::lock_guard<std::mutex> lock(mutex_);
    credentials_ = std::move(fresh);
    verified_.clear();  // a removed user or changed password must not linger
  }
  loaded_mtime_ns_ = stamp.mtime_ns;
  loaded_size_ = stamp.size;
  loaded_inode_ = stamp.inode;
}

StatusOr<Identity> Authenticator::Authenticate(const std::string* authorization,
                                               std::string_view client_address,
                                               Attempt* attempt,
                                               std::string_view certificate_name) {
  *attempt = Attempt{};
  const bool has_header = authorization != nullptr && !authorization->empty();
  if (!has_header && certificate_name.empty()) {
    return UnauthenticatedError("credentials required (HTTP Basic or a Bearer token)");
  }
  ReloadIfChanged();
  const std::shared_ptr<const Credentials> credentials = Current();
  if (!has_header) {
    // The TLS layer verified the certificate against the client CA, which
    // is what vouches for the name.
    attempt->user = std::string(certificate_name);
    for (const UserConfig& user : credentials->users) {
      if (user.name == certificate_name) return IdentityFrom(user.name, user.roles);
    }
    return UnauthenticatedError("the client certificate's name '" +
                                EscapeForMessage(certificate_name) +
                                "' is no user of this server; send credentials (HTTP Basic or "
                                "a Bearer token)");
  }
  std::string_view header = *authorization;
  std::size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? "" : header.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (EqualsIgnoreCase(scheme, "Basic")) {
    return CheckBasic(*credentials, rest, client_address, attempt);
  }
  if (EqualsIgnoreCase(scheme, "Bearer")) return CheckBearer(*credentials, rest, attempt);
  return UnauthenticatedError("unsupported authorization scheme '" + EscapeForMessage(scheme) +
                              "' (use Basic or Bearer)");
}

std::string Authenticator::CacheKey(std::string_view header_value) const {
  if (cache_key_secret_.empty()) return Sha256Hex(header_value);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), cache_key_secret_.data(), static_cast<int>(cache_key_secret_.size()),
       reinterpret_cast<const unsigned char*>(header_value.data()), header_value.size(), mac,
       &length);
  return std::string(reinterpret_cast<const char*>(mac), length);
}

StatusOr<Identity> Authenticator::CheckBasic(const Credentials& credentials,
                                             std::string_view header_value,
                                             std::string_view client_address, Attempt* attempt) {
  std::string username;
  std::string password;
  try {
    Poco::Net::HTTPBasicCredentials parsed{std::string(header_value)};
    username = parsed.getUsername();
    password = parsed.getPassword();
  } catch (const Poco::Exception&) {
    return UnauthenticatedError("malformed Basic credentials (expected base64 of user:password)");
  }
  attempt->user = username;
  // Before the cache too: during a wait not even the right password (whose
  // header may be cached) is let in, or the wait would answer guesses.
  if (std::int64_t wait = throttle_.RetryAfterSeconds(username, client_address); wait > 0) {
    attempt->retry_after_seconds = wait;
    return UnauthenticatedError("too many failed logins for '" + EscapeForMessage(username) +
                                "' from " + std::string(client_address) + "; try again in " +
                                std::to_string(wait) + " s");
  }
  std::string key = CacheKey(header_value);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = verified_.find(key);
    if (it != verified_.end()) return it->second;
  }
  const UserConfig* user = nullptr;
  for (const UserConfig& candidate : credentials.users) {
    if (candidate.name == username) user = &candidate;
  }
  // Spend the same PBKDF2 work for an unknown user, so response time does
  // not reveal which user names exist.
  static const UserConfig kNobody = [] {
    UserConfig nobody;
    nobody.salt = "00";
    nobody.iterations = kPasswordIterations;
    return nobody;
  }();
  bool ok = CheckPassword(user != nullptr ? *user : kNobody, password) && user != nullptr;
  if (!ok) {
    const int failures = throttle_.RecordFailure(username, client_address);
    if (std::int64_t wait = throttle_.RetryAfterSeconds(username, client_address); wait > 0) {
      attempt->retry_after_seconds = wait;
      return UnauthenticatedError("unknown user or wrong password (" + std::to_string(failures) +
                                  " failures in a row; try again in " + std::to_string(wait) +
                                  " s)");
    }
    return UnauthenticatedError("unknown user or wrong password");
  }
  throttle_.RecordSuccess(username, client_address);
  Identity identity = IdentityFrom(user->name, user->roles);
  std::lock_guard<std::mutex> lock(mutex_);
  if (verified_.size() >= kMaxCachedIdentities) verified_.clear();
  verified_.emplace(std::move(key), identity);
  return identity;
}

StatusOr<Identity> Authenticator::CheckBearer(const Credentials& credentials,
                                              std::string_view token, Attempt* attempt) {
  if (token.empty()) return UnauthenticatedError("empty Bearer token");
  const TokenConfig* match = nullptr;
  for (const TokenConfig& candidate : credentials.tokens) {
    // Every token is compared (no early exit) for constant time.
    if (CheckToken(candidate, token)) match = &candidate;
  }
  if (match == nullptr) return UnauthenticatedError("unknown Bearer token");
  attempt->user = match->name;
  return IdentityFrom(match->name, match->roles);
}

Status Authenticator::Authorize(const Identity& identity, Role needed) {
  if (identity.Has(needed)) return Status::Ok();
  return PermissionDeniedError("'" + identity.name + "' lacks the " +
                               std::string(RoleName(needed)) + " role this request needs");
}

}  // namespace fhirsync::server
