#include "fhirsync/base/text_util.h"

#include <Poco/SHA2Engine.h>
#include <openssl/evp.h>
#include <Poco/UUIDGenerator.h>
#include <sys/random.h>

#include <cerrno>
#include <memory>

namespace fhirsync {

std::string EscapeForMessage(std::string_view text, std::size_t max_chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::vector<std::string> SplitList(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = TrimSpaces(text.substr(start, end - start));
    if (!part.empty()) parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

namespace {

// OpenSSL 3 looks the algorithm up by name (a locked property query) on
// every EVP_sha256()-style call and allocates a context per digest: for
// ~1 KB bodies that set-up cost more than hashing them. The algorithm is
// fetched once per process and each thread reuses one context.
const EVP_MD* FetchedSha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

EVP_MD_CTX* ThreadDigestContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context(EVP_MD_CTX_new());
  return context.get();
}

bool OpenSslSha256(std::string_view data, unsigned char* digest, unsigned int* length) {
  const EVP_MD* md = FetchedSha256();
  EVP_MD_CTX* context = ThreadDigestContext();
  return md != nullptr && context != nullptr &&
         EVP_DigestInit_ex(context, md, nullptr) == 1 &&
         EVP_DigestUpdate(context, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(context, digest, length) == 1;
}

}  // namespace

// Poco's SHA2Engine streams too, but is several times slower (see below).
struct Sha256Stream::Context {
  Poco::SHA2Engine engine{Poco::SHA2Engine::SHA_256};
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Stream::Sha256Stream() : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  if (context_->ctx != nullptr && EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_->ctx);
    context_->ctx = nullptr;
  }
}

Sha256Stream::~Sha256Stream() {
  if (context_->ctx != nullptr) EVP_MD_CTX_free(context_->ctx);
}

void Sha256Stream::Update(std::string_view data) {
  if (context_->ctx != nullptr) {
    EVP_DigestUpdate(context_->ctx, data.data(), data.size());
  } else {
    context_->engine.update(data.data(), static_cast<unsigned>(data.size()));
  }
}

std::string Sha256Stream::HexDigest() {
  if (context_->ctx != nullptr) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_->ctx, digest, &length);
    return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), length));
  }
  const Poco::DigestEngine::Digest& digest = context_->engine.digest();
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string Sha256Hex(std::string_view data) {
  // OpenSSL's SHA-256 uses the CPU's SHA extensions; Poco's SHA2Engine is
  // portable C and several times slower, which showed in bulk imports where
  // every body is hashed.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!OpenSslSha256(data, digest, &length)) {
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    engine.update(data.data(), static_cast<unsigned>(data.size()));
    const Poco::DigestEngine::Digest& fallback = engine.digest();
    return HexEncode(
        std::string_view(reinterpret_cast<const char*>(fallback.data()), fallback.size()));
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

namespace {

// Fills `size` bytes from the kernel's CSPRNG; false if it is unavailable.
bool FillRandom(unsigned char* bytes, std::size_t size) {
  std::size_t filled = 0;
  while (filled < size) {
    ssize_t n = getrandom(bytes + filled, size - filled, 0);
    if (n > 0) {
      filled += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

// A version 4 UUID from 16 random bytes (modifies them).
std::string FormatUuid(unsigned char* bytes) {
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

}  // namespace

std::string NewUuid() {
  // getrandom(2) reads the kernel's CSPRNG without opening /dev/urandom for
  // every id (Poco's UUIDGenerator does), which mattered in bulk imports
  // where each outbox row gets one. Fork-safe: no user-space pool.
  unsigned char bytes[16];
  if (!FillRandom(bytes, sizeof bytes)) {
    return Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  }
  return FormatUuid(bytes);
}

std::vector<std::string> NewUuids(std::size_t count) {
  std::vector<std::string> uuids;
  uuids.reserve(count);
  std::vector<unsigned char> bytes(16 * count);
  if (!FillRandom(bytes.data(), bytes.size())) {
    for (std::size_t i = 0; i < count; ++i) uuids.push_back(NewUuid());
    return uuids;
  }
  for (std::size_t i = 0; i < count; ++i) uuids.push_back(FormatUuid(bytes.data() + 16 * i));
  return uuids;
}

}  // namespace fhirsync
