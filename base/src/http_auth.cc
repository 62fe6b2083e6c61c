// SMART Backend Services tokens (see fhirsync/net/http_auth.h): the
// discovery document, the signed client assertion (OpenSSL EVP) and the
// client-credentials grant, over the same HttpTransport as every other call.

#include "fhirsync/net/http_auth.h"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/http_status.h"
#include "fhirsync/net/http_transport.h"

namespace fhirsync::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kKeyFileKey[] = "parent.key_file";

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

std::string FormEncode(const std::string& value) {
  std::string out;
  Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]~ ", out);
  return out;
}

std::string JsonObject(const std::vector<std::pair<std::string, std::string>>& strings,
                       const std::vector<std::pair<std::string, std::int64_t>>& numbers) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [name, value] : strings) {
    writer.Key(name.c_str());
    writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  }
  for (const auto& [name, value] : numbers) {
    writer.Key(name.c_str());
    writer.Int64(value);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string StringMember(const rapidjson::Value& object, const char* name) {
  if (!object.IsObject()) return std::string();
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return std::string();
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// One GET or POST to an absolute URL, with no credentials.
HttpAnswer Call(const SmartAuthOptions& options, const std::string& url, const std::string& what,
                const std::string& method, const std::string& body, Status* error) {
  HttpAnswer answer;
  HttpEndpoint endpoint;
  if (Status parsed = ParseHttpBaseUrl(url, what, &endpoint); !parsed.ok()) {
    *error = parsed;
    return answer;
  }
  HttpTransportOptions http;
  http.host = endpoint.host;
  http.port = endpoint.port;
  http.tls = endpoint.tls;
  http.ca_file = options.ca_file;
  http.accept = "application/json";
  http.content_type = "application/x-www-form-urlencoded";
  http.connect_timeout_ms = options.timeout_ms;
  http.io_timeout_ms = options.timeout_ms;
  http.deadline_ms = options.deadline_ms;
  http.max_response_bytes = 1024 * 1024;
  http.keep_alive_idle_ms = 1;
  HttpTransport transport(std::move(http));
  HttpRequestSpec request;
  request.method = method;
  try {
    request.target = Poco::URI(url).getPathEtc();
  } catch (const Poco::Exception& e) {
    *error = InvalidArgumentError(what + " does not parse: " + e.displayText());
    return answer;
  }
  if (request.target.empty()) request.target = "/";
  request.body = body;
  answer = transport.Exchange(request);
  if (!answer.transport.ok()) {
    *error = answer.transport.WithContext(method + " " + what);
  } else {
    *error = Status::Ok();
  }
  return answer;
}

}  // namespace

StatusOr<HttpAuth> HttpAuthFor(const TransportSettings& settings, int timeout_ms,
                               int deadline_ms) {
  HttpAuth auth;
  const std::string& scheme = settings.auth_scheme;
  if (scheme == "basic") {
    if (settings.user.empty()) return InvalidArgumentError("auth scheme 'basic' needs a user");
    auth.user = settings.user;
    auth.password = settings.password;
  } else if (scheme == "bearer") {
    if (settings.token.empty()) return InvalidArgumentError("auth scheme 'bearer' needs a token");
    auth.bearer_token = settings.token;
  } else if (scheme == "smart") {
    if (settings.client_id.empty()) {
      return InvalidArgumentError("auth scheme 'smart' needs a client id (parent.client_id)");
    }
    if (settings.key_file.empty()) {
      return InvalidArgumentError(std::string("auth scheme 'smart' needs a private key (") +
                                  kKeyFileKey + ")");
    }
    auth.smart.client_id = settings.client_id;
    auth.smart.key_file = settings.key_file;
    if (!settings.scope.empty()) auth.smart.scope = settings.scope;
    auth.smart.discovery_url = settings.base_url;
    if (auto ca = settings.options.find(kParentCaFileOption); ca != settings.options.end()) {
      auth.smart.ca_file = ca->second;
    }
    auth.smart.timeout_ms = timeout_ms;
    auth.smart.deadline_ms = deadline_ms;
  } else if (!scheme.empty() && scheme != "none") {
    return InvalidArgumentError("auth scheme '" + EscapeForMessage(scheme) +
                                "' is not one of none, basic, bearer, smart");
  }
  return auth;
}

struct SmartTokenSource::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    if (rest == 2) out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

SmartTokenSource::SmartTokenSource(SmartAuthOptions options)
    : options_(std::move(options)), key_(std::make_unique<Key>()) {}

SmartTokenSource::~SmartTokenSource() = default;

StatusOr<std::shared_ptr<SmartTokenSource>> SmartTokenSource::Create(
    const SmartAuthOptions& options) {
  if (options.client_id.empty()) {
    return InvalidArgumentError("parent.auth smart needs parent.client_id");
  }
  if (options.discovery_url.empty() && options.token_url.empty()) {
    return InvalidArgumentError("parent.auth smart needs the parent's URL to discover its "
                                "token endpoint");
  }
  const std::string file = EscapeForMessage(options.key_file, 200);
  if (options.key_file.empty()) {
    return InvalidArgumentError(std::string("parent.auth smart needs ") + kKeyFileKey +
                                " (a PEM private key)");
  }
  std::ifstream in(options.key_file, std::ios::binary);
  if (!in) {
    return InvalidArgumentError(std::string(kKeyFileKey) + " '" + file +
                                "' cannot be read: " + std::strerror(errno));
  }
  std::ostringstream pem;
  pem << in.rdbuf();
  const std::string text = pem.str();
  std::shared_ptr<SmartTokenSource> source(new SmartTokenSource(options));
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (bio == nullptr) return InternalError("OpenSSL: cannot allocate a BIO");
  source->key_->pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (source->key_->pkey == nullptr) {
    return InvalidArgumentError(std::string(kKeyFileKey) + " '" + file +
                                "' holds no readable PEM private key (an unencrypted "
                                "-----BEGIN PRIVATE KEY----- block): " + OpenSslError());
  }
  EVP_PKEY* pkey = source->key_->pkey;
  const int bits = EVP_PKEY_get_bits(pkey);
  if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && bits >= 2048) {
    source->algorithm_ = "RS384";
  } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC && bits == 384) {
    source->algorithm_ = "ES384";
  } else {
    return InvalidArgumentError(std::string(kKeyFileKey) + " '" + file + "' holds a " +
                                std::to_string(bits) + "-bit " +
                                (EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey)
                                                               : "unknown") +
                                " key; SMART Backend Services needs RSA of 2048 bits or "
                                "more (RS384) or EC on P-384 (ES384)");
  }
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(pkey, &der);
  if (der_length <= 0) return InternalError("OpenSSL: cannot encode the public key");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  const int hashed = EVP_Digest(der, static_cast<std::size_t>(der_length), digest,
                                &digest_length, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (hashed != 1) return InternalError("OpenSSL: cannot hash the public key");
  source->key_id_ =
      Base64Url(std::string_view(reinterpret_cast<const char*>(digest), digest_length));
  source->token_url_ = options.token_url;
  return source;
}

StatusOr<std::shared_ptr<SmartTokenSource>> SmartTokenSource::Shared(
    const SmartAuthOptions& options) {
  // Kept for the life of the program (a node has one parent, so a handful
  // at most): a transport made for one request (the identity check) must
  // not take the token with it.
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<SmartTokenSource>> sources;
  const std::string key = options.discovery_url + '\n' + options.token_url + '\n' +
                          options.client_id + '\n' + options.key_file + '\n' + options.scope +
                          '\n' + options.ca_file;
  std::lock_guard<std::mutex> lock(mu);
  if (auto kept = sources.find(key); kept != sources.end()) return kept->second;
  StatusOr<std::shared_ptr<SmartTokenSource>> made = Create(options);
  if (made.ok()) sources[key] = *made;
  return made;
}

std::int64_t SmartTokenSource::tokens_fetched() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_fetched_;
}

StatusOr<std::string> SmartTokenSource::SignAssertion(const std::string& token_url) {
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const std::string header =
      JsonObject({{"alg", algorithm_}, {"typ", "JWT"}, {"kid", key_id_}}, {});
  const std::string claims = JsonObject(
      {{"iss", options_.client_id},
       {"sub", options_.client_id},
       {"aud", token_url},
       {"jti", NewUuid()}},
      {{"iat", now}, {"exp", now + kSmartAssertionLifetimeSeconds}});
  const std::string signing_input = Base64Url(header) + "." + Base64Url(claims);

  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr) return InternalError("OpenSSL: cannot allocate a digest context");
  std::size_t length = 0;
  std::vector<unsigned char> signature;
  bool ok = EVP_DigestSignInit(context, nullptr, EVP_sha384(), nullptr, key_->pkey) == 1 &&
            EVP_DigestSign(context, nullptr, &length,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(context, signature.data(), &length,
                        reinterpret_cast<const unsigned char*>(signing_input.data()),
                        signing_input.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(context);
  if (!ok) return InternalError("OpenSSL: signing the client assertion failed: " + OpenSslError());

  std::string raw;
  if (algorithm_ == "ES384") {
    // JWS wants r || s, each 48 bytes, not OpenSSL's DER sequence.
    const unsigned char* in = signature.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(signature.size()));
    if (sig == nullptr) return InternalError("OpenSSL: cannot decode the ECDSA signature");
    unsigned char rs[96];
    const bool padded = BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 48) == 48 &&
                        BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 48, 48) == 48;
    ECDSA_SIG_free(sig);
    if (!padded) return InternalError("OpenSSL: the ECDSA signature does not fit P-384");
    raw.assign(reinterpret_cast<const char*>(rs), sizeof rs);
  } else {
    raw.assign(reinterpret_cast<const char*>(signature.data()), signature.size());
  }
  return signing_input + "." + Base64Url(raw);
}

StatusOr<std::string> SmartTokenSource::TokenUrlLocked() {
  if (!token_url_.empty()) return token_url_;
  std::string base = options_.discovery_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string last_refusal;
  for (const std::string& prefix : {base, base + "/fhir"}) {
    const std::string url = prefix + "/.well-known/smart-configuration";
    const std::string what = "the SMART configuration " + EscapeForMessage(url, 200);
    Status error;
    HttpAnswer answer = Call(options_, url, what, "GET", "", &error);
    if (!error.ok()) return error;
    if (answer.status == 404) {
      last_refusal = what + ": HTTP 404";
      continue;
    }
    if (answer.status < 200 || answer.status > 299) {
      return Status(StatusCodeForHttpStatus(answer.status),
                    what + ": HTTP " + std::to_string(answer.status) + " " + answer.reason);
    }
    rapidjson::Document doc;
    doc.Parse(answer.body.data(), answer.body.size());
    const std::string endpoint = doc.HasParseError() ? std::string()
                                                     : StringMember(doc, "token_endpoint");
    if (endpoint.empty()) {
      return UnauthenticatedError(what + " names no token_endpoint");
    }
    token_url_ = endpoint;
    return token_url_;
  }
  return UnauthenticatedError("the parent publishes no SMART configuration (" + last_refusal +
                                 ", and at " + EscapeForMessage(base, 200) +
                                 "/.well-known/smart-configuration)");
}

Status SmartTokenSource::FetchLocked() {
  FHIRSYNC_ASSIGN_OR_RETURN(std::string token_url, TokenUrlLocked());
  FHIRSYNC_ASSIGN_OR_RETURN(std::string assertion, SignAssertion(token_url));
  const std::string body =
      "grant_type=client_credentials&scope=" + FormEncode(options_.scope) +
      "&client_assertion_type=" +
      FormEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
      "&client_assertion=" + assertion;
  const std::string what = "the SMART token endpoint " + EscapeForMessage(token_url, 200);
  Status error;
  HttpAnswer answer = Call(options_, token_url, what, "POST", body, &error);
  if (!error.ok()) return error;
  rapidjson::Document doc;
  doc.Parse(answer.body.data(), answer.body.size());
  const bool json = !doc.HasParseError() && doc.IsObject();
  if (answer.status < 200 || answer.status > 299) {
    std::string message = what + " refused client '" + EscapeForMessage(options_.client_id) +
                          "': HTTP " + std::to_string(answer.status);
    if (json && !StringMember(doc, "error").empty()) {
      message += " " + EscapeForMessage(StringMember(doc, "error"));
      const std::string description = StringMember(doc, "error_description");
      if (!description.empty()) message += " (" + EscapeForMessage(description, 200) + ")";
    } else {
      message += " " + answer.reason;
    }
    // 400/401 (invalid_client, invalid_grant...): the key or the client id
    // is not what the server registered; a person must fix it.
    const StatusCode code = answer.status == 400 || answer.status == 401
                                ? StatusCode::kUnauthenticated
                                : StatusCodeForHttpStatus(answer.status);
    return Status(code, message + "; check parent.client_id, " + kKeyFileKey +
                            " and the key registered with the server");
  }
  const std::string token = json ? StringMember(doc, "access_token") : std::string();
  if (token.empty()) return UnauthenticatedError(what + " answered without an access_token");
  std::int64_t expires_in = kSmartAssertionLifetimeSeconds;
  if (json && doc.HasMember("expires_in") && doc["expires_in"].IsInt64() &&
      doc["expires_in"].GetInt64() > 0) {
    expires_in = doc["expires_in"].GetInt64();
  }
  // Renew with a quarter of its life left (at most a minute early), so a
  // request never leaves with a token about to lapse.
  const std::int64_t margin_ms = std::min<std::int64_t>(60000, expires_in * 1000 / 4);
  renew_at_ = Clock::now() + std::chrono::milliseconds(expires_in * 1000 - margin_ms);
  authorization_ = "Bearer " + token;
  ++tokens_fetched_;
  return Status::Ok();
}

StatusOr<std::string> SmartTokenSource::Authorization() {
  std::lock_guard<std::mutex> lock(mu_);
  if (authorization_.empty() || Clock::now() >= renew_at_) {
    FHIRSYNC_RETURN_IF_ERROR(FetchLocked());
  }
  return authorization_;
}

StatusOr<std::string> SmartTokenSource::Renew(const std::string& refused) {
  std::lock_guard<std::mutex> lock(mu_);
  if (authorization_.empty() || authorization_ == refused) {
    FHIRSYNC_RETURN_IF_ERROR(FetchLocked());
  }
  return authorization_;
}

}  // namespace fhirsync::net
