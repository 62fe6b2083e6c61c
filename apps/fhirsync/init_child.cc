#include "init_child.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/private_file.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/plugin_loader.h"
#include "fhirsync/resource.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync::cli {
namespace {

constexpr char kFhirPluginName[] = "fhir";

bool HasFhirPlugin(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / (std::string("fhirsync-") + kFhirPluginName + ".so"), ec);
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

void AddChildFlags(FlagParser& flags, ChildOptions* child) {
  flags.AddString("parent", "URL", &child->parent_url);
  flags.AddString("parent-user", "NAME", &child->parent_user);
  flags.AddString("parent-ca", "FILE", &child->parent_ca);
  flags.AddString("types", "T,..", &child->types);
  flags.AddString("feed", "atom|fhir-history", &child->feed);
  flags.AddString("plugin-dir", "DIR", &child->plugin_dir);
  flags.AddString("parent-node-id", "ID", &child->parent_node_id);
}

Status CheckChildFlags(const CommandLine& cl, const ChildOptions& child) {
  if (!cl.Seen("parent")) {
    for (const char* flag :
         {"parent-user", "parent-ca", "types", "feed", "plugin-dir", "parent-node-id"}) {
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
  if (child.parent_user.empty()) {
    return InvalidArgumentError("--parent needs --parent-user (the password is read from stdin)");
  }
  if (child.parent_user.find(':') != std::string::npos) {
    return InvalidArgumentError("--parent-user: a user name cannot contain ':'");
  }
  for (const std::string& type : SplitList(child.types)) {
    if (!FormatOfType(type).has_value()) {
      return InvalidArgumentError("--types: '" + EscapeForMessage(type) +
                                  "' is neither a FHIR type nor an OpenMRS resource name");
    }
  }
  if (child.feed != "atom" && child.feed != "fhir-history") {
    return InvalidArgumentError("--feed: expected atom or fhir-history, got '" +
                                EscapeForMessage(child.feed) + "'");
  }
  return Status::Ok();
}

StatusOr<std::string> ReadPasswordFromStdin() {
  std::string password(std::istreambuf_iterator<char>(std::cin), {});
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    return InvalidArgumentError(
        "--parent: the parent user's password is read from stdin, and stdin was empty");
  }
  return password;
}

void ConfigureChild(const ChildOptions& child, NodeConfig* config) {
  std::string url = child.parent_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  config->parent.url = url;
  config->parent.user = child.parent_user;
  config->parent.password_file = kParentPasswordFile;
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
  PluginSpec fhir;
  fhir.name = kFhirPluginName;
  fhir.options["feed"] = child.feed;
  // _history is read from any FHIR server, so --parent names its FHIR base
  // ("https://host/fhir/R4"); the Atom feed is a fhirsync node's, at its root.
  if (child.feed == "fhir-history") fhir.options["path"] = "";
  if (!config->pull.types.empty()) fhir.options["types"] = JoinTypes(config->pull.types);
  config->plugins.load = {fhir};
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
