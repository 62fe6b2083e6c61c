// ParentLink: a node's line to its parent for everything that is not moving
// resources: who the parent is (its node id, the key of the pull cursor),
// whether it answers (the daemon's probe while it backs off), and the range
// digests `verify` compares with. Resources themselves travel through the
// transport plugins (SyncResourceManager).
//
// A link is made once from the node's configuration (Create): the
// credentials are read and the endpoint is resolved in this one place, and
// every request goes through the shared HTTP client transport
// (fhirsync/net/http_transport.h: the same TLS, timeouts, auth and limits as
// the plugins' requests). A parent reached only through transport plugins
// (parent.url not http:// or https://, e.g. the folder plugin's
// file:///media/usb) cannot be asked any of this: the link says so
// (speaks_http() false; each request FailedPrecondition) and the node uses
// parent.node_id as configured (docs/architecture.md, "Layout and targets").
//
// Thread safety: immutable after Create(); every method is const and may be
// called from any thread (each request has its own connection).

#ifndef FHIRSYNC_PARENT_LINK_H_
#define FHIRSYNC_PARENT_LINK_H_

#include <memory>
#include <string>

#include "fhirsync/config.h"
#include "fhirsync/digest.h"
#include "fhirsync/parent_identity.h"
#include "fhirsync/status.h"

namespace fhirsync {

class ParentLink {
 public:
  // The link to `config`'s parent; relative files (parent.password_file,
  // token_file, key_file, ca_file) are read under `node_dir`.
  // FailedPrecondition when the node has no parent (parent.url empty);
  // the credentials' error (TransportSettingsFor) when they cannot be read.
  static StatusOr<std::unique_ptr<ParentLink>> Create(const NodeConfig& config,
                                                      const std::string& node_dir);

  // Whether the parent is spoken to over HTTP(S) and can be asked who it is
  // (ParentSpeaksHttp of parent.url).
  bool speaks_http() const { return speaks_http_; }
  // The endpoint every request of this link goes to (ParentEndpointFor).
  const ParentEndpoint& endpoint() const { return endpoint_; }

  // The parent's node id as it names itself: FetchParentNodeId, with each
  // connect, send or receive limited to `timeout_ms` (0: the endpoint's
  // own). "" for a parent that answers without naming itself (a FHIR server
  // that is not fhirsync). FailedPrecondition for a parent reached only
  // through plugins; FetchParentNodeId's errors otherwise.
  StatusOr<std::string> FetchNodeId(int timeout_ms = 0) const;

  // One small request: OK when the parent answers within `timeout_ms` per
  // step. Its error says why not (Unavailable / DeadlineExceeded when it is
  // away, a credential refusal, FailedPrecondition for a parent reached only
  // through plugins).
  Status Probe(int timeout_ms) const;

  // The parent's $digest operation as a DigestPeer (MakeHttpDigestPeer).
  // FailedPrecondition, saying why, for a parent reached only through
  // plugins and for a FHIR server that is not fhirsync (it answers without
  // naming itself, so it has no $digest; docs/fhir-servers.md). A
  // parent that cannot be asked who it is now is not an error here: the
  // digest requests report what is wrong with it.
  StatusOr<std::unique_ptr<DigestPeer>> MakeDigestPeer() const;

 private:
  ParentLink(ParentEndpoint endpoint, bool speaks_http)
      : endpoint_(std::move(endpoint)), speaks_http_(speaks_http) {}

  Status RequireHttp(const char* what) const;

  const ParentEndpoint endpoint_;
  const bool speaks_http_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_PARENT_LINK_H_
