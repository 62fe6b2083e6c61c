// The child part of `fhirsync init` (--parent and friends): what it reads,
// checks and writes so that a new child node pulls as it is.
//
// Thread safety: the program is single-threaded.

#ifndef FHIRSYNC_APPS_FHIRSYNC_INIT_CHILD_H_
#define FHIRSYNC_APPS_FHIRSYNC_INIT_CHILD_H_

#include <string>
#include <vector>

#include "command.h"
#include "fhirsync/config.h"
#include "fhirsync/status.h"

namespace fhirsync::cli {

inline constexpr char kParentPasswordFile[] = "parent.password";
inline constexpr char kParentTokenFile[] = "parent.token";

struct ChildOptions {
  std::string parent_url;
  std::string parent_user;
  // none, basic, bearer or smart; empty: basic with --parent-user, else none.
  std::string parent_auth;
  std::string parent_client_id;  // smart
  std::string parent_key;        // smart: PEM private key file
  std::string parent_scope;      // smart; empty: the default scope
  std::string parent_ca;  // PEM file of the CAs an https parent's certificate chains to
  std::string types;  // comma-separated; empty: every type
  std::string feed = "atom";
  std::string plugin_dir;
  // The parent's node id set by hand (a FHIR server that does not name
  // itself); empty: learnt or derived at the first pull.
  std::string parent_node_id;
};

// Registers --parent, --parent-user, --parent-auth, --parent-client-id,
// --parent-key, --parent-scope, --parent-ca, --types, --feed, --plugin-dir
// and --parent-node-id.
void AddChildFlags(FlagParser& flags, ChildOptions* child);
// InvalidArgument naming the flag: child flags without --parent, an
// unknown --parent-auth, basic without --parent-user, smart without
// --parent-client-id or with a --parent-key that cannot be read or holds no
// usable key, flags of another auth kind, a URL that is not
// http(s)://host[:port],
// --parent-ca with an http:// parent or naming a file that holds no PEM
// certificate, a bad type name or one no plugin can carry (an OpenMRS REST
// resource with --feed fhir-history, or with no openmrs-rest plugin), an
// unknown feed kind, an invalid --parent-node-id.
Status CheckChildFlags(const CommandLine& cl, const ChildOptions& child);
// The auth kind the flags choose (--parent-auth, or its default).
std::string ChildAuthKind(const ChildOptions& child);
// The file (in the node folder) that keeps the secret read from stdin:
// basic's password or bearer's token; empty for none and smart, which read
// nothing from stdin.
std::string ChildSecretFile(const ChildOptions& child);
// The whole of stdin without its final line break. InvalidArgument naming
// `what` ("the parent user's password") when it is empty.
StatusOr<std::string> ReadPasswordFromStdin(const std::string& what);
// Fills the parent, pull and plugins sections for a child: the fhir plugin
// for FHIR types and the change feed, the openmrs-rest plugin beside it
// when an OpenMRS REST resource is listed (docs/operator-guide.md, mixed
// trees). With the fhir-history feed, --parent is the FHIR base itself (the
// fhir plugin's options.path is ""); with atom, the fhirsync node's root.
void ConfigureChild(const ChildOptions& child, NodeConfig* config);
// Writes `password` to dir/file with mode 0600 (created so; an existing file
// is made 0600 before it is rewritten).
Status WritePasswordFile(const std::string& dir, const std::string& file,
                         const std::string& password);
std::string JoinTypes(const std::vector<std::string>& types);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_INIT_CHILD_H_
