#include "fhirsync/credentials.h"

#include <Poco/RandomStream.h>
#include <openssl/evp.h>

#include <limits>

#include "fhirsync/base/text_util.h"

namespace fhirsync {

namespace {

std::string RandomBytes(std::size_t n) {
  std::string bytes(n, '\0');
  Poco::RandomInputStream random;
  random.read(bytes.data(), static_cast<std::streamsize>(n));
  return bytes;
}

bool HexToBytes(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// OpenSSL's PBKDF2: several times faster than a generic HMAC loop, which
// matters at 600,000 rounds. An empty string when the rounds are out of
// range or OpenSSL fails, which no stored hash equals.
std::string Pbkdf2Hex(std::string_view salt, std::string_view password, std::int64_t rounds) {
  if (rounds < 1 || rounds > std::numeric_limits<int>::max()) return "";
  unsigned char derived[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(rounds), EVP_sha256(),
                        sizeof derived, derived) != 1) {
    return "";
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(derived), sizeof derived));
}

// Compares without an early exit, so the time taken says nothing about how
// many leading characters matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

Status ValidateIdentityName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '@');
  }
  if (!ok) {
    return InvalidArgumentError("user name '" + EscapeForMessage(name) +
                                "' is not valid (letters, digits, '-', '_', '.', '@', "
                                "1 to 64 characters)");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateRoles(const std::vector<std::string>& roles) {
  if (roles.empty()) return InvalidArgumentError("no role given (use read, write, admin)");
  for (const std::string& role : roles) {
    if (role != "read" && role != "write" && role != "admin") {
      return InvalidArgumentError("unknown role '" + EscapeForMessage(role) +
                                  "' (expected read, write or admin)");
    }
  }
  return Status::Ok();
}

StatusOr<UserConfig> MakeUser(std::string_view name, std::string_view password,
                              const std::vector<std::string>& roles) {
  FHIRSYNC_RETURN_IF_ERROR(ValidateIdentityName(name));
  FHIRSYNC_RETURN_IF_ERROR(ValidateRoles(roles));
  if (password.empty()) return InvalidArgumentError("the password is empty");
  UserConfig user;
  user.name = std::string(name);
  std::string salt = RandomBytes(16);
  user.salt = HexEncode(salt);
  user.iterations = kPasswordIterations;
  user.password_hash = Pbkdf2Hex(salt, password, user.iterations);
  user.roles = roles;
  return user;
}

bool CheckPassword(const UserConfig& user, std::string_view password) {
  std::string salt;
  if (!HexToBytes(user.salt, &salt)) return false;
  const std::string computed = Pbkdf2Hex(salt, password, user.iterations);
  return !computed.empty() && ConstantTimeEquals(computed, user.password_hash);
}

StatusOr<IssuedToken> IssueToken(std::string_view name, const std::vector<std::string>& roles) {
  FHIRSYNC_RETURN_IF_ERROR(ValidateIdentityName(name));
  FHIRSYNC_RETURN_IF_ERROR(ValidateRoles(roles));
  IssuedToken issued;
  // 32 random bytes: 256 bits, as strong as the hash that stores it.
  issued.token = "fst_" + HexEncode(RandomBytes(32));
  issued.config.name = std::string(name);
  issued.config.token_hash = Sha256Hex(issued.token);
  issued.config.roles = roles;
  return issued;
}

bool CheckToken(const TokenConfig& config, std::string_view token) {
  return ConstantTimeEquals(Sha256Hex(token), config.token_hash);
}

}  // namespace fhirsync
