// fhirsync init: creates a node folder with a default fhirsync.json and an
// empty store.

#include <filesystem>
#include <iostream>
#include <optional>
#include <system_error>

#include "command.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/config.h"
#include "fhirsync/feed/atom_change_reader.h"
#include "fhirsync/local_store.h"
#include "fhirsync/snapshot_load.h"
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
    "                      [--parent-node-id ID] [--from-snapshot DIR]]\n"
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
    "                     the FHIR base URL (see docs/fhir-servers.md)\n"
    "  --from-snapshot DIR load the parent's snapshot that `fhirsync snapshot --out DIR`\n"
    "                     wrote on the parent (carried on a stick, say) before the\n"
    "                     first network sync, which then reads the parent's feed only\n"
    "                     after the snapshot. The folder is proven whole first: every\n"
    "                     file its manifest lists, with its size, sha256 and count,\n"
    "                     and no other file; else nothing is loaded. Atom feed only;\n"
    "                     the manifest's node id becomes parent.node_id (it must match\n"
    "                     --parent-node-id when given, and the parent at the first\n"
    "                     pull). See docs/snapshot.md\n";

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
  std::string from_snapshot;
  cl.flags().AddString("from-snapshot", "DIR", &from_snapshot);
  ChildOptions child;
  AddChildFlags(cl.flags(), &child);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (Status checked = CheckChildFlags(cl, child); !checked.ok()) {
    return cl.UsageError(checked.message());
  }
  if (cl.Seen("from-snapshot")) {
    if (child.parent_url.empty()) {
      return cl.UsageError("--from-snapshot needs --parent: a snapshot is where a child "
                           "starts following its parent");
    }
    if (child.feed != "atom") {
      return cl.UsageError("--from-snapshot needs --feed atom: a snapshot folder places "
                           "itself in the parent's Atom feed");
    }
  }
  // The folder is proven whole before anything is written.
  std::optional<BulkManifest> snapshot;
  if (!from_snapshot.empty()) {
    StatusOr<BulkManifest> verified = VerifySnapshotFolder(from_snapshot);
    if (!verified.ok()) {
      return cl.Fail(verified.status().WithContext("--from-snapshot: the folder is refused, "
                                                   "nothing was loaded"));
    }
    if (!verified->has_fhirsync || verified->fhirsync.node_id.empty() ||
        verified->fhirsync.atom_page_url.empty()) {
      return cl.Fail(FailedPreconditionError(
          "--from-snapshot: " + from_snapshot +
          "/manifest.json does not say which node exported it and where in its feed "
          "(extension.fhirsync), so a child could not continue after it"));
    }
    if (!child.parent_node_id.empty() && child.parent_node_id != verified->fhirsync.node_id) {
      return cl.Fail(FailedPreconditionError(
          "--from-snapshot: the snapshot was exported by node '" +
          EscapeForMessage(verified->fhirsync.node_id) + "', not by the parent '" +
          EscapeForMessage(child.parent_node_id) + "' (--parent-node-id)"));
    }
    child.parent_node_id = verified->fhirsync.node_id;
    snapshot = std::move(*verified);
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
  std::optional<PullSummary> snapshot_loaded;
  StatusOr<std::unique_ptr<LocalStore>> store = OpenLocalStore(config.store, cl.dir(), node_id);
  if (!store.ok()) {
    // Leave no empty folder behind from a failed init (remove() only
    // removes an empty one).
    if (!dir_existed) std::filesystem::remove(dir, ec);
    return cl.Fail(store.status().WithContext("cannot open the store"));
  }
  if (snapshot) {
    // Loaded into the new store, with the cursor left at the watermark for
    // the first network sync.
    SnapshotLoadOptions load;
    load.parent_node_id = config.parent.node_id;
    load.feed = config.pull.feed;
    load.feed_position = feed::EncodeFeedPosition(
        {snapshot->fhirsync.atom_page_url, snapshot->fhirsync.atom_entry_id, false});
    StatusOr<std::string> job = SnapshotFolderJob(from_snapshot);
    if (!job.ok()) return cl.Fail(job.status());
    load.job = *job;
    load.transport = "folder";
    load.types = config.pull.types;
    load.max_line_bytes = config.parent.max_answer_bytes;
    std::unique_ptr<SnapshotSource> source = FolderSnapshotSource(from_snapshot);
    StatusOr<PullSummary> loaded = LoadSnapshot(store->get(), *source, *snapshot, load);
    if (!loaded.ok()) return cl.Fail(loaded.status().WithContext("--from-snapshot"));
    snapshot_loaded = *loaded;
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
    if (snapshot_loaded) {
      out.Key("snapshot");
      out.StartObject();
      out.Field("dir", from_snapshot);
      out.Field("resources", snapshot_loaded->fetched);
      out.Field("applied", snapshot_loaded->applied);
      out.Field("rejected", snapshot_loaded->rejected);
      out.EndObject();
    }
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
    if (snapshot_loaded) {
      std::cout << "loaded the snapshot in " << from_snapshot << ": "
                << snapshot_loaded->fetched << " resources (" << snapshot_loaded->applied
                << " applied, " << snapshot_loaded->rejected
                << " rejected); the first sync continues from parent "
                << config.parent.node_id << "'s feed after it\n";
    }
  }
  return kExitOk;
}

}  // namespace

extern const Command kInitCommand = {"init", "create a node folder with a default fhirsync.json",
                                     kHelp, &RunInit};

}  // namespace fhirsync::cli
