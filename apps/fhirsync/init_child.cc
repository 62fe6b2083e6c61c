#include "init_child.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "fhirsync/private_file.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/net/http_auth.h"
#include "fhirsync/plugin_loader.h"
#include "fhirsync/resource.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync::cli {
namespace {

constexpr char kFhirPluginName[] = "fhir";
constexpr char kRestPluginName[] = "openmrs-rest";

bool HasPlugin(const std::filesystem::path& dir, const char* name) {
  std::error_code ec;
  return std::filesystem::exists(dir / (std::string("fhirsync-") + name + ".so"), ec);
}
bool HasFhirPlugin(const std::filesystem::path& dir) { return HasPlugin(dir, kFhirPluginName); }

// The listed types of each format, in the order given.
std::vector<std::string> TypesOfFormat(const std::vector<std::string>& types,
                                       ResourceFormat format) {
  std::vector<std::string> out;
  for (const std::string& type : types) {
    if (FormatOfType(type) == format) out.push_back(type);
  }
  return out;
}

// The flags of one auth kind, refused with another.
Status CheckAuthFlags(const CommandLine& cl, const ChildOptions& child) {
  const std::string kind = ChildAuthKind(child);
  if (kind != "none" && kind != "basic" && kind != "bearer" && kind != "smart") {
    return InvalidArgumentError("--parent-auth: expected none, basic, bearer or smart, got '" +
                                EscapeForMessage(kind) + "'");
  }
  if (kind != "basic" && cl.Seen("parent-user")) {
    return InvalidArgumentError("--parent-user is for --parent-auth basic, not " + kind);
  }
  if (kind != "smart") {
    for (const char* flag : {"parent-client-id", "parent-key", "parent-scope"}) {
      if (cl.Seen(flag)) {
        return InvalidArgumentError(std::string("--") + flag + " is for --parent-auth smart, not " +
                                    kind);
      }
    }
  }
  if (kind == "basic") {
    if (child.parent_user.empty()) {
      return InvalidArgumentError(
          "--parent-auth basic needs --parent-user (the password is read from stdin)");
    }
    if (child.parent_user.find(':') != std::string::npos) {
      return InvalidArgumentError("--parent-user: a user name cannot contain ':'");
    }
  }
  if (kind == "smart") {
    if (child.parent_client_id.empty()) {
      return InvalidArgumentError("--parent-auth smart needs --parent-client-id");
    }
    if (child.parent_key.empty()) {
      return InvalidArgumentError(
          "--parent-auth smart needs --parent-key FILE (a PEM private key: RSA or EC P-384)");
    }
    // Loads the key as every request will, so a key that cannot sign is
    // refused now rather than at the first pull.
    net::SmartAuthOptions probe;
    probe.client_id = child.parent_client_id;
    probe.key_file = child.parent_key;
    probe.discovery_url = child.parent_url;
    StatusOr<std::shared_ptr<net::SmartTokenSource>> key = net::SmartTokenSource::Create(probe);
    if (!key.ok()) return InvalidArgumentError("--parent-key: " + key.status().message());
  }
  return Status::Ok();
}

// Where the fhir plugin is when --plugin-dir is not given: empty when it is
// installed beside the program (the default the config leaves implicit),
// else the build tree's plugin folder (the program is build/apps/fhirsync/).
std::string FindPluginDir() {
  if (HasFhirPlugin(DefaultPluginDir())) return std::string();
  std::error_code ec;
  std::filesystem::path program = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::string();
  std::filesystem::path build =
      (program.parent_path() / ".." / ".." / "lib" / "fhirsync" / "plugins").lexically_normal();
  if (HasFhirPlugin(build)) return build.string();
  return std::string();
}

}  // namespace

std::string ChildAuthKind(const ChildOptions& child) {
  if (!child.parent_auth.empty()) return child.parent_auth;
  return child.parent_user.empty() ? "none" : "basic";
}

std::string ChildSecretFile(const ChildOptions& child) {
  const std::string kind = ChildAuthKind(child);
  if (kind == "basic") return kParentPasswordFile;
  if (kind == "bearer") return kParentTokenFile;
  return std::string();
}

void AddChildFlags(FlagParser& flags, ChildOptions* child) {
  flags.AddString("parent", "URL", &child->parent_url);
  flags.AddString("parent-user", "NAME", &child->parent_user);
  flags.AddString("parent-auth", "none|basic|bearer|smart", &child->parent_auth);
  flags.AddString("parent-client-id", "ID", &child->parent_client_id);
  flags.AddString("parent-key", "FILE", &child->parent_key);
  flags.AddString("parent-scope", "SCOPES", &child->parent_scope);
  flags.AddString("parent-ca", "FILE", &child->parent_ca);
  flags.AddString("types", "T,..", &child->types);
  flags.AddString("feed", "atom|fhir-history", &child->feed);
  flags.AddString("plugin-dir", "DIR", &child->plugin_dir);
  flags.AddString("parent-node-id", "ID", &child->parent_node_id);
}

Status CheckChildFlags(const CommandLine& cl, const ChildOptions& child) {
  if (!cl.Seen("parent")) {
    for (const char* flag : {"parent-user", "parent-auth", "parent-client-id", "parent-key",
                             "parent-scope", "parent-ca", "types", "feed", "plugin-dir",
                             "parent-node-id"}) {
      if (cl.Seen(flag)) {
        return InvalidArgumentError(std::string("--") + flag + " needs --parent");
      }
    }
    return Status::Ok();
  }
  const std::string& url = child.parent_url;
  const bool https = url.rfind("https://", 0) == 0;
  const std::size_t host = https ? 8 : 7;
  if ((!https && url.rfind("http://", 0) != 0) || url.size() <= host || url[host] == '/') {
    return InvalidArgumentError("--parent: expected http://host[:port][/path] or "
                                "https://host[:port][/path], got '" +
                                EscapeForMessage(url, 200) + "'");
  }
  if (cl.Seen("parent-node-id")) {
    if (Status valid = ValidateId(child.parent_node_id); !valid.ok()) {
      return InvalidArgumentError("--parent-node-id: " + valid.message());
    }
  }
  if (cl.Seen("parent-ca")) {
    if (!https) {
      return InvalidArgumentError("--parent-ca is for an https:// parent; '" +
                                  EscapeForMessage(url, 200) + "' is plain http");
    }
    std::ifstream in(child.parent_ca, std::ios::binary);
    if (!in) {
      return InvalidArgumentError("--parent-ca: cannot read '" +
                                  EscapeForMessage(child.parent_ca, 200) + "'");
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return InvalidArgumentError("--parent-ca: '" + EscapeForMessage(child.parent_ca, 200) +
                                  "' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
  }
  FHIRSYNC_RETURN_IF_ERROR(CheckAuthFlags(cl, child));
  const std::vector<std::string> types = SplitList(child.types);
  for (const std::string& type : types) {
    if (!FormatOfType(type).has_value()) {
      return InvalidArgumentError("--types: '" + EscapeForMessage(type) +
                                  "' is neither a FHIR type nor an OpenMRS resource name");
    }
  }
  if (child.feed != "atom" && child.feed != "fhir-history") {
    return InvalidArgumentError("--feed: expected atom or fhir-history, got '" +
                                EscapeForMessage(child.feed) + "'");
  }
  const std::vector<std::string> rest = TypesOfFormat(types, ResourceFormat::kOpenmrsRest);
  if (!rest.empty()) {
    if (child.feed == "fhir-history") {
      return InvalidArgumentError(
          "--types: '" + EscapeForMessage(rest[0]) +
          "' is an OpenMRS REST resource, which FHIR _history cannot list; subscribe to it "
          "through a fhirsync parent's Atom feed (--feed atom)");
    }
    const std::string dir = child.plugin_dir.empty() ? FindPluginDir() : child.plugin_dir;
    const std::filesystem::path where = dir.empty() ? DefaultPluginDir() : dir;
    if (!HasPlugin(where, kRestPluginName)) {
      return InvalidArgumentError("--types: '" + EscapeForMessage(rest[0]) +
                                  "' is an OpenMRS REST resource, carried only by the "
                                  "openmrs-rest plugin, which is not in " +
                                  where.string() + " (fhirsync-openmrs-rest.so)");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> ReadPasswordFromStdin(const std::string& what) {
  std::string password(std::istreambuf_iterator<char>(std::cin), {});
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    return InvalidArgumentError("--parent: " + what + " is read from stdin, and stdin was empty");
  }
  return password;
}

void ConfigureChild(const ChildOptions& child, NodeConfig* config) {
  std::string url = child.parent_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  config->parent.url = url;
  const std::string auth = ChildAuthKind(child);
  config->parent.auth = auth;
  config->parent.user = child.parent_user;
  config->parent.password_file = auth == "basic" ? kParentPasswordFile : "";
  config->parent.token_file = auth == "bearer" ? kParentTokenFile : "";
  config->parent.client_id = child.parent_client_id;
  config->parent.key_file.clear();
  if (!child.parent_key.empty()) {
    std::error_code ec;
    std::filesystem::path key = std::filesystem::absolute(child.parent_key, ec);
    config->parent.key_file = ec ? child.parent_key : key.lexically_normal().string();
  }
  config->parent.scope = child.parent_scope;
  config->parent.ca_file.clear();
  if (!child.parent_ca.empty()) {
    std::error_code ec;
    std::filesystem::path ca = std::filesystem::absolute(child.parent_ca, ec);
    config->parent.ca_file = ec ? child.parent_ca : ca.lexically_normal().string();
  }
  config->parent.node_id = child.parent_node_id;  // empty: learnt at the first pull
  config->pull.types = SplitList(child.types);
  config->pull.feed = child.feed;
  config->plugins.dir = child.plugin_dir.empty() ? FindPluginDir() : child.plugin_dir;
  // The fhir plugin carries the change feed, which lists every subscribed
  // type (feed_types), and the bodies of the FHIR ones; the openmrs-rest
  // plugin the bodies of the OpenMRS REST ones.
  const std::vector<std::string> fhir_types =
      TypesOfFormat(config->pull.types, ResourceFormat::kFhirJson);
  const std::vector<std::string> rest_types =
      TypesOfFormat(config->pull.types, ResourceFormat::kOpenmrsRest);
  PluginSpec fhir;
  fhir.name = kFhirPluginName;
  fhir.options["feed"] = child.feed;
  // _history is read from any FHIR server, so --parent names its FHIR base
  // ("https://host/fhir/R4"); the Atom feed is a fhirsync node's, at its root.
  if (child.feed == "fhir-history") fhir.options["path"] = "";
  if (!fhir_types.empty()) fhir.options["types"] = JoinTypes(fhir_types);
  if (!rest_types.empty()) fhir.options["feed_types"] = JoinTypes(config->pull.types);
  config->plugins.load = {fhir};
  if (!rest_types.empty()) {
    PluginSpec rest;
    rest.name = kRestPluginName;
    rest.options["types"] = JoinTypes(rest_types);
    config->plugins.load.push_back(rest);
  }
}

Status WritePasswordFile(const std::string& dir, const std::string& file,
                         const std::string& password) {
  return WritePrivateFile((std::filesystem::path(dir) / file).string(), password);
}

std::string JoinTypes(const std::vector<std::string>& types) {
  std::string joined;
  for (const std::string& type : types) joined += (joined.empty() ? "" : ",") + type;
  return joined;
}

}  // namespace fhirsync::cli
