#include "fhirsync/config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "fhirsync/base/json_depth.h"
#include "fhirsync/private_file.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

// Reads the keys of one JSON object, remembering which were consumed so that
// Finish() can name any key nobody asked for. The first error sticks.
class ObjectReader {
 public:
  ObjectReader(const rapidjson::Value& object, std::string path, Status* error)
      : object_(object), path_(std::move(path)), error_(error) {}

  void String(const char* key, std::string* out) {
    const rapidjson::Value* v = Take(key);
    if (v == nullptr) return;
    if (!v->IsString()) return Fail(key, "expected a string");
    out->assign(v->GetString(), v->GetStringLength());
  }
  void Bool(const char* key, bool* out) {
    const rapidjson::Value* v = Take(key);
    if (v == nullptr) return;
    if (!v->IsBool()) return Fail(key, "expected true or false");
    *out = v->GetBool();
  }
  template <typename Int>
  void Integer(const char* key, Int* out, std::int64_t min, std::int64_t max) {
    const rapidjson::Value* v = Take(key);
    if (v == nullptr) return;
    if (!v->IsInt64()) return Fail(key, "expected an integer");
    std::int64_t n = v->GetInt64();
    if (n < min || n > max) {
      return Fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", not " + std::to_string(n));
    }
    *out = static_cast<Int>(n);
  }
  void StringList(const char* key, std::vector<std::string>* out) {
    const rapidjson::Value* v = Take(key);
    if (v == nullptr) return;
    if (!v->IsArray()) return Fail(key, "expected an array of strings");
    out->clear();
    for (const auto& item : v->GetArray()) {
      if (!item.IsString()) return Fail(key, "expected an array of strings");
      out->emplace_back(item.GetString(), item.GetStringLength());
    }
  }
  // nullptr when absent (or on error).
  const rapidjson::Value* Object(const char* key) {
    const rapidjson::Value* v = Take(key);
    if (v == nullptr) return nullptr;
    if (!v->IsObject()) {
      Fail(key, "expected an object");
      return nullptr;
    }
    return v;
  }
  const rapidjson::Value* Array(const char* key) {
    const rapidjson::Value* v = Take(key);
    if (v == nullptr) return nullptr;
    if (!v->IsArray()) {
      Fail(key, "expected an array");
      return nullptr;
    }
    return v;
  }

  std::string KeyPath(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  // Reports the first key that was not consumed.
  void Finish() {
    if (!error_->ok()) return;
    for (const auto& member : object_.GetObject()) {
      std::string name(member.name.GetString(), member.name.GetStringLength());
      if (!seen_.count(name)) {
        *error_ = InvalidArgumentError(KeyPath(EscapeForMessage(name).c_str()) +
                                       ": unknown key");
        return;
      }
    }
  }

  bool ok() const { return error_->ok(); }
  Status* error() { return error_; }

 private:
  const rapidjson::Value* Take(const char* key) {
    seen_.insert(key);
    if (!error_->ok()) return nullptr;
    auto it = object_.FindMember(key);
    return it == object_.MemberEnd() ? nullptr : &it->value;
  }
  void Fail(const char* key, const std::string& why) {
    if (error_->ok()) *error_ = InvalidArgumentError(KeyPath(key) + ": " + why);
  }

  const rapidjson::Value& object_;
  std::string path_;
  Status* error_;
  std::set<std::string> seen_;
};

constexpr std::int64_t kMaxInt = 2147483647;

void ReadRoles(ObjectReader& r, std::vector<std::string>* roles) {
  r.StringList("roles", roles);
  for (const std::string& role : *roles) {
    if (role != "read" && role != "write" && role != "admin" && r.ok()) {
      *r.error() = InvalidArgumentError(r.KeyPath("roles") + ": unknown role '" +
                                        EscapeForMessage(role) + "' (read, write, admin)");
    }
  }
}

void ReadStore(const rapidjson::Value& v, StoreConfig* c, Status* error) {
  ObjectReader r(v, "store", error);
  r.String("backend", &c->backend);
  r.String("path", &c->path);
  r.String("connection", &c->connection);
  r.Integer("max_body_bytes", &c->max_body_bytes, 1, std::int64_t{1} << 32);
  r.Finish();
  if (error->ok() && c->backend != "sqlite" && c->backend != "postgresql") {
    *error = InvalidArgumentError("store.backend: unknown backend '" +
                                  EscapeForMessage(c->backend) + "' (sqlite or postgresql)");
  }
  if (error->ok() && c->backend == "postgresql" && c->connection.empty()) {
    *error = InvalidArgumentError("store.connection: required when store.backend is postgresql");
  }
}

// "birthDate", "name.family": members (a letter, then letters, digits or
// '_') separated by dots.
bool IsElementPath(const std::string& path) {
  bool at_start = true;
  for (char ch : path) {
    const bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    const bool digit = ch >= '0' && ch <= '9';
    if (ch == '.') {
      if (at_start) return false;
      at_start = true;
    } else if (at_start ? !letter : !(letter || digit || ch == '_')) {
      return false;
    } else {
      at_start = false;
    }
  }
  return !at_start;
}

void ReadRules(const rapidjson::Value& rules, std::vector<RuleConfig>* out, Status* error) {
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < rules.Size() && error->ok(); ++i) {
    std::string path = "server.rules[" + std::to_string(i) + "]";
    if (!rules[i].IsObject()) {
      *error = InvalidArgumentError(path + ": expected an object");
      break;
    }
    ObjectReader r(rules[i], path, error);
    RuleConfig rule;
    r.String("name", &rule.name);
    r.String("type", &rule.type);
    r.StringList("required", &rule.required);
    r.String("message", &rule.message);
    r.Finish();
    if (!error->ok()) break;
    if (rule.name.empty()) {
      *error = InvalidArgumentError(path + ".name: required");
    } else if (!names.insert(rule.name).second) {
      *error = InvalidArgumentError(path + ".name: '" + EscapeForMessage(rule.name) +
                                    "' is the name of an earlier rule");
    } else if (rule.type.empty()) {
      *error = InvalidArgumentError(path + ".type: required");
    } else if (Status type = ValidateResourceType(rule.type); !type.ok()) {
      *error = type.WithContext(path + ".type");
    } else if (rule.required.empty()) {
      *error = InvalidArgumentError(path + ".required: list at least one element path");
    }
    for (const std::string& element : rule.required) {
      if (!error->ok()) break;
      if (!IsElementPath(element)) {
        *error = InvalidArgumentError(path + ".required: '" + EscapeForMessage(element) +
                                      "' is not an element path (like birthDate or "
                                      "name.family)");
      }
    }
    out->push_back(std::move(rule));
  }
}

void ReadServer(const rapidjson::Value& v, ServerConfig* c, Status* error) {
  ObjectReader r(v, "server", error);
  r.String("bind", &c->bind);
  r.Integer("port", &c->port, 0, 65535);
  r.Integer("feed_page_size", &c->feed_page_size, 1, 10000);
  r.Integer("max_request_bytes", &c->max_request_bytes, 1024, std::int64_t{1} << 32);
  r.Integer("max_response_bytes", &c->max_response_bytes, 65536, std::int64_t{1} << 32);
  r.Integer("export_max_running", &c->export_max_running, 1, 64);
  r.Integer("export_retain_seconds", &c->export_retain_seconds, 60, 30 * 86400);
  r.Integer("threads", &c->threads, 1, 1024);
  r.Integer("queue_size", &c->queue_size, 1, 65536);
  // Files written before the request deadlines have this key; it has no
  // effect now (header_timeout_seconds and body_timeout_seconds replace it).
  int legacy_read_timeout = 0;
  r.Integer("read_timeout_seconds", &legacy_read_timeout, 1, 3600);
  r.Integer("header_timeout_seconds", &c->header_timeout_seconds, 1, 3600);
  r.Integer("body_timeout_seconds", &c->body_timeout_seconds, 1, 86400);
  r.Integer("write_timeout_seconds", &c->write_timeout_seconds, 1, 3600);
  r.Integer("max_connections_per_address", &c->max_connections_per_address, 1, 1000000);
  r.Integer("max_connections", &c->max_connections, 1, 1000000);
  r.Bool("allow_plaintext", &c->allow_plaintext);
  if (const rapidjson::Value* tls = r.Object("tls")) {
    ObjectReader t(*tls, "server.tls", error);
    t.String("cert_file", &c->tls.cert_file);
    t.String("key_file", &c->tls.key_file);
    t.String("client_ca_file", &c->tls.client_ca_file);
    t.Finish();
  }
  if (const rapidjson::Value* users = r.Array("users")) {
    for (rapidjson::SizeType i = 0; i < users->Size() && error->ok(); ++i) {
      std::string path = "server.users[" + std::to_string(i) + "]";
      if (!(*users)[i].IsObject()) {
        *error = InvalidArgumentError(path + ": expected an object");
        break;
      }
      ObjectReader u((*users)[i], path, error);
      UserConfig user;
      u.String("name", &user.name);
      u.String("salt", &user.salt);
      u.String("password_hash", &user.password_hash);
      u.Integer("iterations", &user.iterations, 1, 100000000);
      ReadRoles(u, &user.roles);
      u.Finish();
      c->users.push_back(std::move(user));
    }
  }
  if (const rapidjson::Value* tokens = r.Array("tokens")) {
    for (rapidjson::SizeType i = 0; i < tokens->Size() && error->ok(); ++i) {
      std::string path = "server.tokens[" + std::to_string(i) + "]";
      if (!(*tokens)[i].IsObject()) {
        *error = InvalidArgumentError(path + ": expected an object");
        break;
      }
      ObjectReader t((*tokens)[i], path, error);
      TokenConfig token;
      t.String("name", &token.name);
      t.String("token_hash", &token.token_hash);
      ReadRoles(t, &token.roles);
      t.Finish();
      c->tokens.push_back(std::move(token));
    }
  }
  if (const rapidjson::Value* rules = r.Array("rules")) ReadRules(*rules, &c->rules, error);
  r.Finish();
}

void ReadParent(const rapidjson::Value& v, ParentConfig* c, Status* error) {
  ObjectReader r(v, "parent", error);
  r.String("url", &c->url);
  r.String("node_id", &c->node_id);
  r.String("auth", &c->auth);
  r.String("user", &c->user);
  r.String("password_file", &c->password_file);
  r.String("token_file", &c->token_file);
  r.String("client_id", &c->client_id);
  r.String("key_file", &c->key_file);
  r.String("scope", &c->scope);
  r.String("ca_file", &c->ca_file);
  r.Integer("max_answer_bytes", &c->max_answer_bytes, 1024, std::int64_t{1} << 32);
  r.Integer("request_deadline_seconds", &c->request_deadline_seconds, 1, 86400);
  r.Finish();
  if (error->ok() && !c->auth.empty() && c->auth != "none" && c->auth != "basic" &&
      c->auth != "bearer" && c->auth != "smart") {
    *error = InvalidArgumentError("parent.auth: unknown kind '" + EscapeForMessage(c->auth) +
                                  "' (none, basic, bearer or smart)");
  }
}

void ReadPull(const rapidjson::Value& v, PullConfig* c, Status* error) {
  ObjectReader r(v, "pull", error);
  r.Bool("enabled", &c->enabled);
  r.StringList("types", &c->types);
  r.String("feed", &c->feed);
  r.String("snapshot", &c->snapshot);
  r.Integer("batch_size", &c->batch_size, 1, 10000);
  r.Integer("in_flight", &c->in_flight, 1, 64);
  r.Integer("interval_seconds", &c->interval_seconds, 1, 86400 * 7);
  r.Finish();
  if (error->ok() && c->feed != "atom" && c->feed != "fhir-history") {
    *error = InvalidArgumentError("pull.feed: unknown feed '" + EscapeForMessage(c->feed) +
                                  "' (atom or fhir-history)");
  }
  if (error->ok() && c->snapshot != "auto" && c->snapshot != "never") {
    *error = InvalidArgumentError("pull.snapshot: unknown value '" +
                                  EscapeForMessage(c->snapshot) + "' (auto or never)");
  }
}

void ReadPush(const rapidjson::Value& v, PushConfig* c, Status* error) {
  ObjectReader r(v, "push", error);
  r.Bool("enabled", &c->enabled);
  r.Integer("batch_size", &c->batch_size, 1, 10000);
  r.Integer("max_attempts", &c->max_attempts, 1, 1000);
  r.Integer("interval_seconds", &c->interval_seconds, 1, 86400 * 7);
  r.Finish();
}

void ReadPlugins(const rapidjson::Value& v, PluginsConfig* c, Status* error) {
  ObjectReader r(v, "plugins", error);
  r.String("dir", &c->dir);
  if (const rapidjson::Value* load = r.Array("load")) {
    for (rapidjson::SizeType i = 0; i < load->Size() && error->ok(); ++i) {
      std::string path = "plugins.load[" + std::to_string(i) + "]";
      if (!(*load)[i].IsObject()) {
        *error = InvalidArgumentError(path + ": expected an object");
        break;
      }
      ObjectReader p((*load)[i], path, error);
      PluginSpec spec;
      p.String("name", &spec.name);
      p.String("file", &spec.file);
      p.Bool("optional", &spec.optional);
      if (const rapidjson::Value* options = p.Object("options")) {
        for (const auto& member : options->GetObject()) {
          std::string key(member.name.GetString(), member.name.GetStringLength());
          if (!member.value.IsString()) {
            *error = InvalidArgumentError(path + ".options." + EscapeForMessage(key) +
                                          ": expected a string");
            break;
          }
          spec.options[key].assign(member.value.GetString(), member.value.GetStringLength());
        }
      }
      p.Finish();
      if (error->ok() && spec.name.empty()) *error = InvalidArgumentError(path + ".name: required");
      c->load.push_back(std::move(spec));
    }
  }
  if (const rapidjson::Value* routes = r.Object("routes")) {
    for (const auto& member : routes->GetObject()) {
      std::string type(member.name.GetString(), member.name.GetStringLength());
      if (!member.value.IsString()) {
        *error = InvalidArgumentError("plugins.routes." + EscapeForMessage(type) +
                                      ": expected a plugin name");
        break;
      }
      c->routes[type] = member.value.GetString();
    }
  }
  r.Finish();
}

}  // namespace

StatusOr<NodeConfig> ParseNodeConfig(std::string_view json, std::string_view source) {
  // The parse recurses per level.
  FHIRSYNC_RETURN_IF_ERROR(
      CheckJsonDepth(json, kMaxJsonDepth, "the file").WithContext(source));
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError(std::string(source) + ": not valid JSON: " +
                                rapidjson::GetParseError_En(doc.GetParseError()) +
                                " (at byte " + std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) {
    return InvalidArgumentError(std::string(source) + ": expected a JSON object");
  }
  NodeConfig config;
  Status error;
  ObjectReader r(doc, "", &error);
  r.String("node_id", &config.node_id);
  if (const auto* v = r.Object("store")) ReadStore(*v, &config.store, &error);
  if (const auto* v = r.Object("server")) ReadServer(*v, &config.server, &error);
  if (const auto* v = r.Object("parent")) ReadParent(*v, &config.parent, &error);
  if (const auto* v = r.Object("pull")) ReadPull(*v, &config.pull, &error);
  if (const auto* v = r.Object("push")) ReadPush(*v, &config.push, &error);
  if (const auto* v = r.Object("plugins")) ReadPlugins(*v, &config.plugins, &error);
  r.Finish();
  if (error.ok()) {
    if (config.node_id.empty()) {
      error = InvalidArgumentError("node_id: required");
    } else {
      error = ValidateId(config.node_id).WithContext("node_id");
    }
  }
  if (!error.ok()) return error.WithContext(source);
  return config;
}

StatusOr<NodeConfig> LoadNodeConfig(const std::string& dir) {
  std::filesystem::path file = std::filesystem::path(dir) / kConfigFileName;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return NotFoundError(file.string() + ": no such file (create the node with 'fhirsync init --dir " +
                         dir + "')");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseNodeConfig(text.str(), file.string());
}

namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void WriteString(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}
void WriteStrings(Writer& w, const char* key, const std::vector<std::string>& values) {
  w.Key(key);
  w.StartArray();
  for (const auto& v : values) w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  w.EndArray();
}
void WriteInt(Writer& w, const char* key, std::int64_t value) {
  w.Key(key);
  w.Int64(value);
}
void WriteBool(Writer& w, const char* key, bool value) {
  w.Key(key);
  w.Bool(value);
}

}  // namespace

std::string SerializeNodeConfig(const NodeConfig& c) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  WriteString(w, "node_id", c.node_id);

  w.Key("store");
  w.StartObject();
  WriteString(w, "backend", c.store.backend);
  WriteString(w, "path", c.store.path);
  WriteString(w, "connection", c.store.connection);
  WriteInt(w, "max_body_bytes", static_cast<std::int64_t>(c.store.max_body_bytes));
  w.EndObject();

  w.Key("server");
  w.StartObject();
  WriteString(w, "bind", c.server.bind);
  WriteInt(w, "port", c.server.port);
  WriteInt(w, "feed_page_size", c.server.feed_page_size);
  WriteInt(w, "max_request_bytes", static_cast<std::int64_t>(c.server.max_request_bytes));
  WriteInt(w, "max_response_bytes", static_cast<std::int64_t>(c.server.max_response_bytes));
  WriteInt(w, "export_max_running", c.server.export_max_running);
  WriteInt(w, "export_retain_seconds", c.server.export_retain_seconds);
  WriteInt(w, "threads", c.server.threads);
  WriteInt(w, "queue_size", c.server.queue_size);
  WriteInt(w, "header_timeout_seconds", c.server.header_timeout_seconds);
  WriteInt(w, "body_timeout_seconds", c.server.body_timeout_seconds);
  WriteInt(w, "write_timeout_seconds", c.server.write_timeout_seconds);
  WriteInt(w, "max_connections_per_address", c.server.max_connections_per_address);
  WriteInt(w, "max_connections", c.server.max_connections);
  WriteBool(w, "allow_plaintext", c.server.allow_plaintext);
  w.Key("tls");
  w.StartObject();
  WriteString(w, "cert_file", c.server.tls.cert_file);
  WriteString(w, "key_file", c.server.tls.key_file);
  WriteString(w, "client_ca_file", c.server.tls.client_ca_file);
  w.EndObject();
  w.Key("users");
  w.StartArray();
  for (const UserConfig& u : c.server.users) {
    w.StartObject();
    WriteString(w, "name", u.name);
    WriteString(w, "salt", u.salt);
    WriteString(w, "password_hash", u.password_hash);
    WriteInt(w, "iterations", u.iterations);
    WriteStrings(w, "roles", u.roles);
    w.EndObject();
  }
  w.EndArray();
  w.Key("tokens");
  w.StartArray();
  for (const TokenConfig& t : c.server.tokens) {
    w.StartObject();
    WriteString(w, "name", t.name);
    WriteString(w, "token_hash", t.token_hash);
    WriteStrings(w, "roles", t.roles);
    w.EndObject();
  }
  w.EndArray();
  w.Key("rules");
  w.StartArray();
  for (const RuleConfig& rule : c.server.rules) {
    w.StartObject();
    WriteString(w, "name", rule.name);
    WriteString(w, "type", rule.type);
    WriteStrings(w, "required", rule.required);
    WriteString(w, "message", rule.message);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  w.Key("parent");
  w.StartObject();
  WriteString(w, "url", c.parent.url);
  WriteString(w, "node_id", c.parent.node_id);
  WriteString(w, "auth", c.parent.auth);
  WriteString(w, "user", c.parent.user);
  WriteString(w, "password_file", c.parent.password_file);
  WriteString(w, "token_file", c.parent.token_file);
  WriteString(w, "client_id", c.parent.client_id);
  WriteString(w, "key_file", c.parent.key_file);
  WriteString(w, "scope", c.parent.scope);
  WriteString(w, "ca_file", c.parent.ca_file);
  WriteInt(w, "max_answer_bytes", static_cast<std::int64_t>(c.parent.max_answer_bytes));
  WriteInt(w, "request_deadline_seconds", c.parent.request_deadline_seconds);
  w.EndObject();

  w.Key("pull");
  w.StartObject();
  WriteBool(w, "enabled", c.pull.enabled);
  WriteStrings(w, "types", c.pull.types);
  WriteString(w, "feed", c.pull.feed);
  WriteString(w, "snapshot", c.pull.snapshot);
  WriteInt(w, "batch_size", c.pull.batch_size);
  WriteInt(w, "in_flight", c.pull.in_flight);
  WriteInt(w, "interval_seconds", c.pull.interval_seconds);
  w.EndObject();

  w.Key("push");
  w.StartObject();
  WriteBool(w, "enabled", c.push.enabled);
  WriteInt(w, "batch_size", c.push.batch_size);
  WriteInt(w, "max_attempts", c.push.max_attempts);
  WriteInt(w, "interval_seconds", c.push.interval_seconds);
  w.EndObject();

  w.Key("plugins");
  w.StartObject();
  WriteString(w, "dir", c.plugins.dir);
  w.Key("load");
  w.StartArray();
  for (const PluginSpec& p : c.plugins.load) {
    w.StartObject();
    WriteString(w, "name", p.name);
    WriteString(w, "file", p.file);
    WriteBool(w, "optional", p.optional);
    w.Key("options");
    w.StartObject();
    for (const auto& [key, value] : p.options) WriteString(w, key.c_str(), value);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.Key("routes");
  w.StartObject();
  for (const auto& [type, plugin] : c.plugins.routes) WriteString(w, type.c_str(), plugin);
  w.EndObject();
  w.EndObject();

  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

Status SaveNodeConfig(const std::string& dir, const NodeConfig& config) {
  // The file holds the users' password hashes: owner only.
  const std::filesystem::path file = std::filesystem::path(dir) / kConfigFileName;
  return WritePrivateFile(file.string(), SerializeNodeConfig(config));
}

}  // namespace fhirsync
