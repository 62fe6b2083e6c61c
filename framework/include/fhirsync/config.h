// A node's configuration: the `fhirsync.json` in its folder.
//
// Every key is optional except `node_id`; missing keys take the defaults
// written below. An unknown key or a value of the wrong type is an error that
// names the key by its path ("store.backend: expected a string"), so a typo
// never silently falls back to a default.
//
// Thread safety: plain values; the functions are thread-safe.

#ifndef FHIRSYNC_CONFIG_H_
#define FHIRSYNC_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fhirsync/resource.h"
#include "fhirsync/status.h"

namespace fhirsync {

inline constexpr char kConfigFileName[] = "fhirsync.json";

struct StoreConfig {
  std::string backend = "sqlite";  // "sqlite" or "postgresql"
  std::string path = "store.sqlite";  // sqlite: relative to the node folder
  // postgresql: a libpq connection string ("host=... port=... dbname=...").
  std::string connection;
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
};

// An HTTP Basic identity; the password is kept only as a salted hash.
struct UserConfig {
  std::string name;
  std::string salt;           // hex
  std::string password_hash;  // hex PBKDF2-HMAC-SHA256 of the password
  // The PBKDF2 rounds password_hash was made with. A file written before
  // this key existed used 60,000 rounds, which is what a missing key means.
  std::int64_t iterations = 60000;
  std::vector<std::string> roles;  // "read", "write", "admin"
};

// A bearer token; only its SHA-256 is kept.
struct TokenConfig {
  std::string name;
  std::string token_hash;  // hex SHA-256 of the token
  std::vector<std::string> roles;
};

// A business rule the server enforces on every FHIR create and update of
// `type` it receives (PUT, POST and Bundle entries): each element path in
// `required` ("birthDate", "name.family": members separated by dots, lists
// crossed) must hold a value (not null, "", [] or {}) in at least one place.
// A write that breaks a rule is refused with 422 Unprocessable Entity and an
// OperationOutcome (issue code "business-rule") naming the rule, `message`
// and the missing elements; the child dead-letters it (architecture §5).
struct RuleConfig {
  std::string name;   // required; names the rule in the OperationOutcome
  std::string type;   // required; the resource type it applies to
  std::vector<std::string> required;  // at least one element path
  std::string message;  // optional: why, in the data manager's words
};

// TLS for the server (docs/deployment.md). PEM files; relative paths are
// relative to the node folder. Both of cert_file and key_file, or neither.
struct ServerTlsConfig {
  std::string cert_file;       // the certificate chain, the server's first
  std::string key_file;        // its private key (unencrypted)
  std::string client_ca_file;  // set: every client must show a certificate it signed
  bool enabled() const { return !cert_file.empty(); }
};

struct ServerConfig {
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: any free port (the address is printed at start)
  int feed_page_size = 100;
  std::size_t max_request_bytes = 32u * 1024u * 1024u;
  // The largest answer the server builds whole (a Bundle's answer, a search
  // or _history page): a Bundle that would pass it is refused with 413, a
  // page is cut short with a `next` link (docs/configuration.md).
  std::size_t max_response_bytes = 64u * 1024u * 1024u;
  // Bulk Data exports (GET /fhir/$export, docs/snapshot.md): at most this
  // many run at once, and a finished one's files are removed this long
  // after it finished (and at every start of the server).
  int export_max_running = 2;
  int export_retain_seconds = 3600;
  int threads = 8;       // workers running the handlers (they block on the store)
  int queue_size = 64;   // requests waiting for a worker; past it: 503
  // A request head must be complete within this of the connection's opening
  // (its TLS handshake included) or of the previous answer; a body within
  // body_timeout_seconds of its head. An answer's writing may stall at most
  // write_timeout_seconds at a time.
  int header_timeout_seconds = 10;
  int body_timeout_seconds = 60;
  int write_timeout_seconds = 30;
  // Open connections: from one client address, and in all. A connection
  // past either is answered 503 with Retry-After and closed.
  int max_connections_per_address = 64;
  int max_connections = 10000;
  ServerTlsConfig tls;
  // Without TLS, `serve` refuses an address other than loopback unless this
  // is true (docs/deployment.md).
  bool allow_plaintext = false;
  std::vector<UserConfig> users;
  std::vector<TokenConfig> tokens;
  std::vector<RuleConfig> rules;  // checked in this order; the first broken one answers
};

struct ParentConfig {
  std::string url;      // empty: this node has no parent
  std::string node_id;  // learnt from the parent; keys the pull cursor
  // How this node signs in (docs/configuration.md): "none", "basic" (user
  // and password_file), "bearer" (token_file) or "smart" (SMART Backend
  // Services: client_id, key_file, scope). Empty: "basic" when user is
  // set, else "none" (files written before the key existed).
  std::string auth;
  std::string user;
  // File (relative to the node folder, mode 0600) holding the password, so
  // no secret sits in fhirsync.json.
  std::string password_file;
  // bearer: the file (relative to the node folder, mode 0600) holding the
  // static token.
  std::string token_file;
  // smart: the client id the server registered, the PEM file of its
  // private key (RSA: RS384, EC P-384: ES384; relative to the node folder
  // when relative) and the scope asked for (empty: system/*.*).
  std::string client_id;
  std::string key_file;
  std::string scope;
  // An https parent: the PEM file of the CAs its certificate must chain to
  // (relative to the node folder when relative); empty: the system's CA
  // store. The certificate and its host name are always verified.
  std::string ca_file;
  // The most this node reads of any one answer from its parent (after gzip
  // decoding): a bigger one fails the request, naming this key.
  std::size_t max_answer_bytes = 64u * 1024u * 1024u;
  // Every request to the parent, connecting to the answer's last byte, ends
  // within this (on top of each plugin's per-receive timeout_ms), so a
  // parent that drips its answer cannot hold a pull or push for ever.
  int request_deadline_seconds = 300;
};

struct PullConfig {
  bool enabled = true;
  std::vector<std::string> types;  // empty: every type
  std::string feed = "atom";       // "atom" or "fhir-history"
  // "auto": a node that never pulled from its parent starts from the
  // parent's snapshot when its transport offers `export`
  // (docs/snapshot.md); "never": it walks the feed from the start. Off by
  // default until a snapshot load keeps every promise a feed pull keeps
  // (docs/snapshot.md, "Not yet").
  std::string snapshot = "never";
  int batch_size = 100;
  int in_flight = 4;
  int interval_seconds = 60;
};

struct PushConfig {
  bool enabled = true;
  // Large by default: a round costs a store read, a request and a store
  // transaction whatever its size, and 500 small resources still make a
  // Bundle of a few MB, far under a parent's server.max_request_bytes.
  int batch_size = 500;
  int max_attempts = 10;
  int interval_seconds = 30;
};

struct PluginSpec {
  std::string name;
  std::string file;  // relative to PluginsConfig::dir unless absolute
  bool optional = false;
  // Settings handed to the plugin's Configure() as TransportSettings::options
  // (e.g. the folder transport's "dir").
  std::map<std::string, std::string> options;
};

struct PluginsConfig {
  std::string dir;  // empty: the plugins installed beside the program
  std::vector<PluginSpec> load;
  std::map<std::string, std::string> routes;  // resource type -> plugin name
};

struct NodeConfig {
  std::string node_id;
  StoreConfig store;
  ServerConfig server;
  ParentConfig parent;
  PullConfig pull;
  PushConfig push;
  PluginsConfig plugins;
};

// Parses configuration JSON. `source` names it in messages ("D/fhirsync.json").
StatusOr<NodeConfig> ParseNodeConfig(std::string_view json, std::string_view source);
// Reads `dir`/fhirsync.json. NotFound naming the file when it is missing.
StatusOr<NodeConfig> LoadNodeConfig(const std::string& dir);
// Pretty-printed JSON holding every key, so a written file documents itself.
std::string SerializeNodeConfig(const NodeConfig& config);
// Writes `dir`/fhirsync.json atomically (temporary file, then rename), with
// mode 0600: it holds the server's password and token hashes.
Status SaveNodeConfig(const std::string& dir, const NodeConfig& config);

}  // namespace fhirsync

#endif  // FHIRSYNC_CONFIG_H_
