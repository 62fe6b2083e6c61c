// ParentLink (see fhirsync/parent_link.h).

#include "fhirsync/parent_link.h"

#include <utility>

#include "fhirsync/base/text_util.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {

StatusOr<std::unique_ptr<ParentLink>> ParentLink::Create(const NodeConfig& config,
                                                         const std::string& node_dir) {
  if (config.parent.url.empty()) {
    return FailedPreconditionError("node '" + config.node_id +
                                   "' has no parent (parent.url is empty in " + node_dir +
                                   "/" + kConfigFileName + ")");
  }
  FHIRSYNC_ASSIGN_OR_RETURN(TransportSettings settings, TransportSettingsFor(config, node_dir));
  return std::unique_ptr<ParentLink>(
      new ParentLink(ParentEndpointFor(config, settings), ParentSpeaksHttp(config.parent.url)));
}

Status ParentLink::RequireHttp(const char* what) const {
  if (speaks_http_) return Status::Ok();
  return FailedPreconditionError("the parent at " + EscapeForMessage(endpoint_.url, 200) +
                                 " is reached only through plugins, which cannot " + what);
}

StatusOr<std::string> ParentLink::FetchNodeId(int timeout_ms) const {
  FHIRSYNC_RETURN_IF_ERROR(RequireHttp("say which node it is"));
  if (timeout_ms <= 0) return FetchParentNodeId(endpoint_);
  ParentEndpoint limited = endpoint_;
  limited.timeout_ms = timeout_ms;
  return FetchParentNodeId(limited);
}

Status ParentLink::Probe(int timeout_ms) const { return FetchNodeId(timeout_ms).status(); }

StatusOr<std::unique_ptr<DigestPeer>> ParentLink::MakeDigestPeer() const {
  if (!speaks_http_) {
    return FailedPreconditionError(
        "verify asks the parent for its digest over HTTP(S), and the parent at " +
        endpoint_.url +
        " is reached only through plugins; verify against a node that serves the same records "
        "over HTTP instead");
  }
  // $digest is fhirsync's own operation: a FHIR server that is not fhirsync
  // (it does not name itself) has none, so say so rather than report its
  // 404 (docs/fhir-servers.md).
  if (StatusOr<std::string> reported = FetchNodeId(); reported.ok() && reported->empty()) {
    return FailedPreconditionError(
        "verify compares range digests from the parent's $digest operation, which only a "
        "fhirsync node serves; the parent at " + EscapeForMessage(endpoint_.fhir_base, 200) +
        " is a FHIR server that is not fhirsync (no X-Fhirsync-Node-Id), so it cannot be "
        "verified against; `fhirsync status` still shows how far behind its _history this "
        "node is");
  }
  return MakeHttpDigestPeer(endpoint_);
}

}  // namespace fhirsync
