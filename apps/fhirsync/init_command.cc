// fhirsync init: creates a node folder with a default fhirsync.json and an
// empty store.

#include <filesystem>
#include <iostream>
#include <system_error>

#include "command.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "init_child.h"
#include "output.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync init [--dir D] [--node-id ID] [--backend sqlite|postgresql]\n"
    "                     [--connection STR] [--force] [--json]\n"
    "                     [--parent URL [--parent-auth none|basic|bearer|smart]\n"
    "                      [--parent-user NAME] [--parent-client-id ID --parent-key FILE\n"
    "                      [--parent-scope SCOPES]] [--parent-ca FILE]\n"
    "                      [--types T,..] [--feed atom|fhir-history] [--plugin-dir DIR]\n"
    "                      [--parent-node-id ID]]\n"
    "\n"
    "Creates a node in folder D (made if missing): writes D/fhirsync.json with every\n"
    "key at its default and opens the store once, so a bad --connection is reported\n"
    "now rather than at first use. Refuses to overwrite an existing fhirsync.json\n"
    "unless --force is given; --force rewrites the configuration with defaults but\n"
    "keeps the store and its data, and the node id unless --node-id is given (the\n"
    "store itself refuses to change hands to another node id).\n"
    "\n"
    "  --dir D          the node folder (default: $FHIRSYNC_DIR or .)\n"
    "  --node-id ID     this node's id in the tree (FHIR id rule: [A-Za-z0-9-.]{1,64});\n"
    "                   default: a new random UUID, so two nodes never share one\n"
    "                   (with --force: the id already configured)\n"
    "  --backend B      sqlite (default; D/store.sqlite) or postgresql\n"
    "  --connection STR libpq connection string, required with --backend postgresql\n"
    "                   (\"host=127.0.0.1 port=5432 dbname=fhirsync user=...\")\n"
    "  --force          overwrite an existing fhirsync.json\n"
    "  --json           print {node_id, dir, config_file, backend} as JSON\n"
    "\n"
    "A child node (with --parent) is written ready to `fhirsync sync --once`:\n"
    "  --parent URL       the parent node's root URL (http://host:port, or\n"
    "                     https://host:port: TLS 1.2 or newer, the certificate and\n"
    "                     its host name always verified); with --feed fhir-history,\n"
    "                     the FHIR base URL itself (https://host/fhir/R4; a fhirsync\n"
    "                     node's is http://host:port/fhir)\n"
    "  --parent-ca FILE   https: the PEM file of the CA(s) the parent's certificate\n"
    "                     chains to (parent.ca_file; default: the system's CA store)\n"
    "  --parent-auth KIND how this node signs in (parent.auth; default: basic with\n"
    "                     --parent-user, else none):\n"
    "                     none    no credentials\n"
    "                     basic   HTTP Basic as --parent-user; the password is read\n"
    "                             from stdin and kept in D/parent.password (mode\n"
    "                             0600), never in fhirsync.json\n"
    "                     bearer  a static token read from stdin, kept in\n"
    "                             D/parent.token (mode 0600)\n"
    "                     smart   SMART Backend Services: a signed JWT (RS384 or\n"
    "                             ES384) buys short-lived tokens at the token\n"
    "                             endpoint of URL/.well-known/smart-configuration\n"
    "  --parent-user NAME basic: the user this node signs in as\n"
    "  --parent-client-id ID  smart: the client id the server registered\n"
    "  --parent-key FILE  smart: the PEM private key (RSA 2048+ or EC P-384)\n"
    "  --parent-scope S   smart: the scopes asked for (default: system/*.*)\n"
    "  --types T,..       subscribe to these resource types only (default: every type;\n"
    "                     the parent filters its feed, so nothing else is downloaded).\n"
    "                     FHIR types (Patient) go through the fhir plugin, OpenMRS\n"
    "                     REST resources (patient, obs) through the openmrs-rest\n"
    "                     plugin, loaded when one is listed (atom feed only)\n"
    "  --feed KIND        atom (default: the parent's Atom change feed) or fhir-history\n"
    "                     (FHIR _history paging, for any FHIR server)\n"
    "  --plugin-dir DIR   where the fhir plugin is (default: installed beside the\n"
    "                     program, or the build tree's lib/fhirsync/plugins)\n"
    "  --parent-node-id ID the parent's node id (parent.node_id), for a FHIR server\n"
    "                     that is not fhirsync; default: learnt from the parent at\n"
    "                     the first pull (X-Fhirsync-Node-Id), else derived once from\n"
    "                     the FHIR base URL (see docs/fhir-servers.md)\n";

int RunInit(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string node_id;
  std::string backend = "sqlite";
  std::string connection;
  bool force = false;
  bool json = false;
  cl.flags().AddString("node-id", "ID", &node_id);
  cl.flags().AddString("backend", "sqlite|postgresql", &backend);
  cl.flags().AddString("connection", "STR", &connection);
  cl.flags().AddBool("force", &force);
  cl.flags().AddBool("json", &json);
  ChildOptions child;
  AddChildFlags(cl.flags(), &child);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (Status checked = CheckChildFlags(cl, child); !checked.ok()) {
    return cl.UsageError(checked.message());
  }

  if (cl.Seen("node-id")) {
    if (Status valid = ValidateId(node_id); !valid.ok()) {
      return cl.UsageError("--node-id: " + valid.message());
    }
  }
  if (backend != "sqlite" && backend != "postgresql") {
    return cl.UsageError("--backend: expected sqlite or postgresql, got '" +
                         EscapeForMessage(backend) + "'");
  }
  if (backend == "postgresql" && connection.empty()) {
    return cl.UsageError("--connection is required with --backend postgresql");
  }
  if (backend == "sqlite" && !connection.empty()) {
    return cl.UsageError("--connection applies only to --backend postgresql");
  }

  const std::filesystem::path dir(cl.dir());
  const std::filesystem::path file = dir / kConfigFileName;
  std::error_code ec;
  if (std::filesystem::exists(file, ec) && !force) {
    return cl.Fail(AlreadyExistsError(file.string() +
                                      " already exists (--force overwrites it; the store is kept)"));
  }
  if (!cl.Seen("node-id")) {
    // A store belongs to the node that created it (its changes carry that
    // node id as their origin), so re-initialising keeps the old id unless
    // told otherwise.
    StatusOr<NodeConfig> existing = LoadNodeConfig(cl.dir());
    node_id = existing.ok() ? existing->node_id : NewUuid();
  }
  const bool dir_existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return cl.Fail(UnavailableError(dir.string() + ": cannot create folder: " + ec.message()));

  NodeConfig config;
  config.node_id = node_id;
  config.store.backend = backend;
  config.store.connection = connection;
  std::string password;
  const std::string secret_file = ChildSecretFile(child);
  if (!child.parent_url.empty()) {
    if (!secret_file.empty()) {
      StatusOr<std::string> read = ReadPasswordFromStdin(
          secret_file == kParentTokenFile ? "the bearer token" : "the parent user's password");
      if (!read.ok()) return cl.UsageError(read.status().message());
      password = std::move(read).value();
    }
    ConfigureChild(child, &config);
  }
  // Check what we are about to write the way every later verb will read it,
  // so init can never leave a file the other verbs reject.
  StatusOr<NodeConfig> reread = ParseNodeConfig(SerializeNodeConfig(config), file.string());
  if (!reread.ok()) return cl.Fail(reread.status());

  // Open (and so create) the store before writing the configuration: a node
  // folder whose configuration names an unusable store helps nobody.
  StatusOr<std::unique_ptr<LocalStore>> store = OpenLocalStore(config.store, cl.dir(), node_id);
  if (!store.ok()) {
    // Leave no empty folder behind from a failed init (remove() only
    // removes an empty one).
    if (!dir_existed) std::filesystem::remove(dir, ec);
    return cl.Fail(store.status().WithContext("cannot open the store"));
  }
  store->reset();

  if (!child.parent_url.empty() && !secret_file.empty()) {
    if (Status written = WritePasswordFile(cl.dir(), secret_file, password); !written.ok()) {
      return cl.Fail(written);
    }
  }
  if (Status saved = SaveNodeConfig(cl.dir(), config); !saved.ok()) return cl.Fail(saved);

  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("node_id", node_id);
    out.Field("dir", cl.dir());
    out.Field("config_file", file.string());
    out.Field("backend", backend);
    out.EndObject();
    out.Print();
  } else {
    std::cout << "initialised node " << node_id << " in " << dir.string() << " (" << backend
              << " store";
    if (backend == "sqlite") std::cout << " " << (dir / config.store.path).string();
    std::cout << ")\n";
    if (!child.parent_url.empty()) {
      std::cout << "child of " << config.parent.url
                << (config.parent.auth == "basic" ? " as user " + config.parent.user
                                                  : " (auth " + config.parent.auth + ")")
                << ", pulling " << (config.pull.types.empty() ? std::string("every type")
                                                               : JoinTypes(config.pull.types))
                << " through its " << config.pull.feed << " feed\n";
    }
  }
  return kExitOk;
}

}  // namespace

extern const Command kInitCommand = {"init", "create a node folder with a default fhirsync.json",
                                     kHelp, &RunInit};

}  // namespace fhirsync::cli
