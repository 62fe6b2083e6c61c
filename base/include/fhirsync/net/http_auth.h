// How a child proves who it is to its parent: the credentials every
// net::HttpTransport sends (docs/configuration.md, parent.auth).
//
//   none    no Authorization header
//   basic   HTTP Basic (user and password)
//   bearer  a static token ("Authorization: Bearer <token>")
//   smart   SMART Backend Services: an OAuth2 client-credentials grant
//           whose client authenticates with a JWT it signs (RS384 with an
//           RSA key, ES384 with an EC P-384 key) at the token endpoint
//           named by the server's .well-known/smart-configuration; the
//           access token is kept and fetched again before it expires, and
//           once more when the server answers 401.
//
// HttpTransport applies an HttpAuth itself (the only place that turns
// credentials into headers), so each client only hands its settings on.
//
// Thread safety: SmartTokenSource is safe to share between threads (one
// mutex; a token is fetched by one caller while the others wait for it).
// The free functions are thread-safe.

#ifndef FHIRSYNC_NET_HTTP_AUTH_H_
#define FHIRSYNC_NET_HTTP_AUTH_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/status.h"

namespace fhirsync::net {

// The SMART Backend Services default scope: every resource, read and write
// (a child both pulls and pushes).
inline constexpr char kDefaultSmartScope[] = "system/*.*";

// A signed client assertion may live at most this long (the SMART Backend
// Services limit).
inline constexpr int kSmartAssertionLifetimeSeconds = 300;

struct SmartAuthOptions {
  std::string client_id;  // empty: SMART is not used
  // PEM file of the client's private key: RSA (2048 bits or more; RS384) or
  // EC on P-384 (ES384).
  std::string key_file;
  std::string scope = kDefaultSmartScope;
  // The server's base URL: the token endpoint is read from
  // <discovery_url>/.well-known/smart-configuration, or, when that is not
  // found, <discovery_url>/fhir/.well-known/smart-configuration (a fhirsync
  // parent's FHIR base below its root).
  std::string discovery_url;
  // The token endpoint itself; when set, nothing is discovered.
  std::string token_url;
  // For https discovery and token endpoints: the CAs (PEM) their
  // certificates chain to; empty: the system's store.
  std::string ca_file;
  int timeout_ms = 10000;
  int deadline_ms = 60000;
};

// What a transport authenticates with; at most one kind is set. SMART
// (smart.client_id) wins over a bearer token, which wins over Basic (user).
struct HttpAuth {
  std::string user;  // Basic; empty: no Basic
  std::string password;
  std::string bearer_token;  // static bearer token; empty: none
  SmartAuthOptions smart;
};

// The credentials `settings` names (auth_scheme "none", "basic", "bearer"
// or "smart"; SMART discovers its token endpoint below settings.base_url
// and trusts the CAs of option parent.ca_file), with the timeouts of the
// token requests. InvalidArgument for another scheme, or one whose parts
// are missing (basic without a user, bearer without a token, smart without
// a client id or key file).
StatusOr<HttpAuth> HttpAuthFor(const TransportSettings& settings, int timeout_ms,
                               int deadline_ms);

// The unpadded base64url form of `bytes` (RFC 4648 section 5), as JWTs use.
std::string Base64Url(std::string_view bytes);

// Access tokens from one SMART token endpoint for one client.
class SmartTokenSource {
 public:
  // Loads the key. InvalidArgument naming parent.key_file when it cannot be
  // read, holds no private key, or holds a key that is neither RSA of at
  // least 2048 bits nor EC on P-384; and when client_id or the discovery
  // and token URLs are missing.
  static StatusOr<std::shared_ptr<SmartTokenSource>> Create(const SmartAuthOptions& options);

  // The one source for these options in this program (or plugin module),
  // so that every transport to the parent shares one access token. Errors
  // as Create().
  static StatusOr<std::shared_ptr<SmartTokenSource>> Shared(const SmartAuthOptions& options);

  ~SmartTokenSource();
  SmartTokenSource(const SmartTokenSource&) = delete;
  SmartTokenSource& operator=(const SmartTokenSource&) = delete;

  // "Bearer <access token>": the kept one while it has more than a quarter
  // of its life (at most a minute) left, else a new one. Unavailable /
  // DeadlineExceeded when the discovery document or the token endpoint
  // cannot be reached; Unauthenticated when the token endpoint refuses the
  // client (naming its error and error_description), and when an answer
  // is not what SMART defines (no SMART configuration, no token_endpoint,
  // no access_token): a person must mend the credentials, and meanwhile
  // pushing pauses rather than dead-lettering anything (fhirsync/status.h).
  StatusOr<std::string> Authorization();
  // After a request with `refused` (an Authorization() value) was answered
  // 401: a new token, unless another caller already fetched one since.
  // Errors as Authorization().
  StatusOr<std::string> Renew(const std::string& refused);

  // The signed client assertion for `token_url` (a JWT; a new jti each
  // time). Internal errors only (a signing failure).
  StatusOr<std::string> SignAssertion(const std::string& token_url);
  // "RS384" or "ES384".
  const std::string& algorithm() const { return algorithm_; }
  // The JWT header's kid: base64url of the SHA-256 of the public key's DER
  // (SubjectPublicKeyInfo), stable for a key.
  const std::string& key_id() const { return key_id_; }
  // Tokens fetched so far.
  std::int64_t tokens_fetched() const;

 private:
  struct Key;
  explicit SmartTokenSource(SmartAuthOptions options);
  StatusOr<std::string> TokenUrlLocked();
  Status FetchLocked();

  const SmartAuthOptions options_;
  std::unique_ptr<Key> key_;
  std::string algorithm_;
  std::string key_id_;
  mutable std::mutex mu_;
  std::string token_url_;  // discovered once
  std::string authorization_;  // empty: none yet
  std::chrono::steady_clock::time_point renew_at_;
  std::int64_t tokens_fetched_ = 0;
};

}  // namespace fhirsync::net

#endif  // FHIRSYNC_NET_HTTP_AUTH_H_
