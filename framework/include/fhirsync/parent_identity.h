// Learning a parent's node id: the key of this node's pull cursor (architecture
// §4: cursors are keyed by the parent's node id, not its URL, so a parent
// that moves keeps the child's place).
//
// A fhirsync parent names itself in the `X-Fhirsync-Node-Id` header of every
// answer; this asks for its CapabilityStatement (GET {fhir base}/metadata)
// through the shared HTTP transport (fhirsync/net/http_transport.h: the
// same TLS, timeouts and limits as every other call to the parent) and
// reads that header. ParentEndpoint is also what verify's digest peer
// (digest.h) is built from.
//
// Thread safety: a pure function (one HTTP request).

#ifndef FHIRSYNC_PARENT_IDENTITY_H_
#define FHIRSYNC_PARENT_IDENTITY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "fhirsync/config.h"
#include "fhirsync/net/http_auth.h"
#include "fhirsync/plugin/transport_plugin.h"
#include "fhirsync/status.h"

namespace fhirsync {

struct ParentEndpoint {
  std::string url;  // parent.url as configured
  // The parent's FHIR base URL (ParentFhirBase); empty: url + "/fhir".
  std::string fhir_base;
  net::HttpAuth auth;  // the credentials (parent.auth); none: anonymous
  // https: the PEM file of the CAs the parent's certificate must chain to
  // (parent.ca_file, resolved); empty: the system's CA store.
  std::string ca_file;
  int timeout_ms = 10000;  // per connect, send or receive
  // The whole exchange (parent.request_deadline_seconds); and the most of
  // the answer read (parent.max_answer_bytes).
  int deadline_ms = 300000;
  std::size_t max_answer_bytes = 64u * 1024u * 1024u;
  // This node's id, sent with each request (X-Fhirsync-Node-Id) so that
  // the parent knows which child asks; empty: not sent.
  std::string own_node_id;
};

// The parent's node id as it names itself (GET {fhir_base}/metadata, header
// X-Fhirsync-Node-Id). Unavailable / DeadlineExceeded when it cannot be
// reached or does not answer in time (also: Unavailable when the program is
// stopping, fhirsync/net/io_watchdog.h; also: a TLS certificate refused,
// naming why); ResourceExhausted for an answer past
// max_answer_bytes; Unauthenticated / PermissionDenied for 401 / 403;
// FailedPrecondition when it names itself with an invalid id. A parent that
// answers without naming itself (a FHIR server that is not fhirsync) gives
// "" (ResolveParentNodeId then decides); InvalidArgument for a URL that
// is not http(s)://host[:port][/path] or a ca_file that cannot be read.
StatusOr<std::string> FetchParentNodeId(const ParentEndpoint& parent);

// Whether `parent_url` (parent.url) names a parent spoken to over HTTP or
// HTTPS, which can be asked who it is. Any other scheme (file:///media/usb,
// a plugin's own) names a parent reached only through transport plugins
// (the folder plugin, one an implementer writes): nothing can ask it for
// its node id, so parent.node_id must be set by hand. Pure.
bool ParentSpeaksHttp(std::string_view parent_url);

// For a parent reached only through plugins: parent.node_id, or
// FailedPrecondition saying how to set it when it is empty.
StatusOr<std::string> ConfiguredParentNodeId(const NodeConfig& config);

// The FHIR base URL of `config`'s parent, as the fhir plugin computes it:
// its options.url when set, else parent.url + its options.path (default
// "/fhir": a fhirsync parent's root). `init --feed fhir-history` writes
// options.path "" so that parent.url is the FHIR base of any FHIR server
// (docs/fhir-servers.md). No trailing slash. Pure.
std::string ParentFhirBase(const NodeConfig& config);

// A node id for a parent that does not name itself (a FHIR server that is
// not fhirsync), derived from its FHIR base URL: host, port and path with
// every other character a '-' ("127.0.0.1-8080-fhir-R4"); a longer one is
// cut and ends in a hash of the whole URL, so it is always a valid id of at
// most 64 characters. The caller stores it (parent.node_id) so that a later
// change of address keeps the cursor. Pure.
std::string DerivedParentNodeId(std::string_view fhir_base);

// The node id this node follows its parent under, given what the parent
// said of itself (`reported`, FetchParentNodeId's answer: "" when it does
// not name itself). A parent that names itself must be parent.node_id when
// that is set (FailedPrecondition naming both otherwise: another node behind
// the same address would make the cursor meaningless). One that does not
// (a FHIR server that is not fhirsync) is parent.node_id when set by hand,
// else DerivedParentNodeId. `*learnt` is set when the answer is not yet in
// parent.node_id and should be stored there. Pure.
StatusOr<std::string> ResolveParentNodeId(const NodeConfig& config, const std::string& reported,
                                          bool* learnt);

// The endpoint of `config`'s parent with its limits (parent.*) and the
// credentials and CA file of `settings` (TransportSettingsFor).
ParentEndpoint ParentEndpointFor(const NodeConfig& config, const TransportSettings& settings);

}  // namespace fhirsync

#endif  // FHIRSYNC_PARENT_IDENTITY_H_
