// TransportPlugin: how fhirsync moves resources to and from one kind of
// remote (a FHIR server, OpenMRS REST, a folder on a USB stick, ...), and the
// plain values that cross the plugin boundary.
//
// A plugin implements this interface in a shared module and declares it with
// FHIRSYNC_DECLARE_PLUGIN (declare_plugin.h). The host (SyncResourceManager)
// calls Configure() once, then GetCapabilities() to build its routing table,
// then the operations, possibly from several threads at once: an
// implementation must be safe for concurrent calls (guard shared state with
// its own mutex).
//
// Only value types and Status cross the boundary, never an exception: every
// result carries a Status. Status codes follow docs/architecture.md §5,
// because the sync services decide retry, conflict or dead letter from the
// code alone (an HTTP answer maps through StatusCodeForHttpStatus in
// fhirsync/http_status.h):
//   kUnavailable / kDeadlineExceeded  transient (network, 5xx): retried
//   kAborted                          version conflict (409, 412)
//   kNotFound                         the remote has no such resource (404, 410)
//   kInvalidArgument                  the remote rejected the content (400)
//   kFailedPrecondition               a business rule refused it (422)
//   kUnauthenticated / kPermissionDenied  401 / 403: pushing pauses
//   kUnimplemented                    the transport does not do this operation
//   kInternal and any other code      retried with backoff, like a transient
// A plugin links only against fhirsync::plugin_api, which is header-only:
// Status, StatusOr and the factories (NotFoundError(...), ...) need no
// fhirsync library.
//
// Ownership: arguments are borrowed for the duration of the call; results
// are owned by the caller.

#ifndef FHIRSYNC_PLUGIN_TRANSPORT_PLUGIN_H_
#define FHIRSYNC_PLUGIN_TRANSPORT_PLUGIN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/resource_format.h"
#include "fhirsync/status.h"

namespace fhirsync {

// What the sync services ask a transport to do. Routing is per
// (resource type, operation).
enum class TransportOperation {
  kRead,      // one resource by type and id
  kReadMany,  // several resources of one type in one round trip
  kCreate,    // create at the client-assigned id
  kUpdate,    // replace, guarded by the expected remote version
  kDelete,    // delete (or void), guarded by the expected remote version
  kHistory,   // page through the remote's change feed
  kExport,    // a consistent snapshot as NDJSON files (ABI minor 2; docs/snapshot.md)
};

inline constexpr TransportOperation kAllTransportOperations[] = {
    TransportOperation::kRead,   TransportOperation::kReadMany, TransportOperation::kCreate,
    TransportOperation::kUpdate, TransportOperation::kDelete,   TransportOperation::kHistory,
    TransportOperation::kExport};

// "read", "read-many", "create", "update", "delete", "history", "export".
inline constexpr std::string_view TransportOperationName(TransportOperation op) {
  switch (op) {
    case TransportOperation::kRead: return "read";
    case TransportOperation::kReadMany: return "read-many";
    case TransportOperation::kCreate: return "create";
    case TransportOperation::kUpdate: return "update";
    case TransportOperation::kDelete: return "delete";
    case TransportOperation::kHistory: return "history";
    case TransportOperation::kExport: return "export";
  }
  return "unknown";
}

// The inverse of TransportOperationName; nullopt for any other text.
inline std::optional<TransportOperation> ParseTransportOperation(std::string_view name) {
  for (TransportOperation op : kAllTransportOperations) {
    if (TransportOperationName(op) == name) return op;
  }
  return std::nullopt;
}

// The wildcard resource type: "every type in a format this plugin carries".
inline constexpr char kAnyResourceType[] = "*";

// What a plugin can do, as plain data. The host reads it once, after
// Configure(), so a plugin may narrow it from what the remote says it
// supports (e.g. a FHIR CapabilityStatement).
struct TransportCapabilities {
  // Exact type names ("Patient", "visittype") or kAnyResourceType. A FHIR
  // type (upper-case initial) is routed only to a plugin carrying
  // ResourceFormat::kFhirJson, an OpenMRS REST name (lower case) only to one
  // carrying kOpenmrsRest.
  std::vector<std::string> resource_types;
  std::vector<TransportOperation> operations;
  std::vector<ResourceFormat> formats;
  // Higher wins when several plugins cover the same (type, operation). Two at
  // the same priority are an ambiguity that stops start-up.
  int priority = 0;
  // "none", "basic", "bearer", "smart": the credentials Configure()
  // understands.
  std::vector<std::string> auth_schemes;
};

// Where the remote is and how to authenticate, from the node's config.
struct TransportSettings {
  std::string node_id;   // this node, for plugins that label what they write
  std::string base_url;  // the parent ("https://parent/fhir", "file:///media/usb")
  std::string auth_scheme = "none";  // "none", "basic", "bearer" or "smart"
  std::string user;
  std::string password;
  std::string token;
  // "smart" (SMART Backend Services, fhirsync/net/http_auth.h): the client
  // id, its private key (a PEM file, absolute path) and the scope asked for
  // (empty: system/*.*).
  std::string client_id;
  std::string key_file;
  std::string scope;
  // Free-form per-plugin settings (`plugins.load[i].options` in the config),
  // and the node-wide ones below.
  std::map<std::string, std::string> options;
};

// Options the host hands every plugin beside its own: the node's limits on
// what it reads from its parent, named by their keys in fhirsync.json (a
// plugin that talks to the parent over a network applies them and names
// the key when one is hit). Decimal integers.
inline constexpr char kMaxAnswerBytesOption[] = "parent.max_answer_bytes";
inline constexpr char kRequestDeadlineOption[] = "parent.request_deadline_seconds";
// And, when set, the PEM file of the CAs an https parent's certificate must
// chain to (an absolute path; absent: the system's CA store).
inline constexpr char kParentCaFileOption[] = "parent.ca_file";

// One version of one resource as the remote holds it.
struct RemoteResource {
  std::string type;
  std::string id;
  std::string version;  // the remote's version id; empty when it has none
  std::int64_t last_updated_ms = 0;  // 0 when unknown
  bool deleted = false;  // a tombstone; body is empty
  ResourceFormat format = ResourceFormat::kFhirJson;
  std::string body;
};

// What every call reports besides its value.
struct CallOutcome {
  Status status;
  int http_status = 0;            // 0 when the transport does not speak HTTP
  std::string operation_outcome;  // the remote's explanation (OperationOutcome text)
  // The request may have reached the remote but its answer was lost (timeout
  // after sending, connection reset): read the remote copy back before
  // sending again.
  bool ambiguous = false;
};

struct ReadResult : CallOutcome {
  RemoteResource resource;
};

struct ReadManyResult : CallOutcome {
  // One result per requested id, in request order, each with its own status
  // (kNotFound for an id the remote lacks). Empty when `status` is an error.
  std::vector<ReadResult> items;
};

struct RemoteWriteResult : CallOutcome {
  std::string version;  // the remote's new version id; empty if it has none
  std::int64_t last_updated_ms = 0;
};

// ChangeAction (resource_format.h) is shared with the store's change feed.
struct ChangeEntry {
  std::string position;  // opaque; pass it back as `since` to resume after it
  ChangeAction action = ChangeAction::kUpdate;
  // type, id, version always; `body` only when `has_body`, otherwise the
  // caller reads it (batched) with ReadMany.
  RemoteResource resource;
  bool has_body = false;
};

struct ChangePage : CallOutcome {
  std::vector<ChangeEntry> entries;  // oldest first
  std::string next_position;  // resume here; equals `since` when nothing is new
  bool more = false;          // true: another page is ready at once
};

// What StartExport() answers: a snapshot ready to download.
struct ExportResult : CallOutcome {
  // The export job, to pass back to StartExport() after an interruption (a
  // FHIR Bulk Data status URL); empty when the remote keeps none.
  std::string job;
  // The Bulk Data manifest as the remote sent it (fhirsync/base/
  // bulk_manifest.h; ParseBulkManifest reads it); file URLs are passed to
  // ReadExportFile() as they stand.
  std::string manifest;
  // Where this plugin's ReadChanges() continues right after the snapshot's
  // watermark, in the plugin's own position format; empty when the manifest
  // says nothing that places the snapshot in the change feed: the caller
  // must not use such a snapshot.
  std::string feed_position;
};

// One write of a WriteMany() call.
struct WriteRequest {
  TransportOperation operation = TransportOperation::kUpdate;  // kCreate, kUpdate or kDelete
  RemoteResource resource;  // type and id always; body for a create or update
  std::string expected_version;  // as for Update() and Delete(); ignored by a create
};

class TransportPlugin {
 public:
  virtual ~TransportPlugin() = default;

  // Applies the settings; called once, before anything else. Returns
  // InvalidArgument naming the setting that is missing or malformed, or
  // Unavailable when the remote cannot be reached and the plugin needs it.
  virtual Status Configure(const TransportSettings& settings) = 0;

  // What this plugin carries (see TransportCapabilities).
  virtual TransportCapabilities GetCapabilities() const = 0;

  // Each operation below returns kUnimplemented unless overridden; declare in
  // GetCapabilities() exactly the ones you override.

  // The current version of type/id. kNotFound when the remote lacks it; a
  // deleted resource is returned with `deleted` set where the remote says so.
  virtual ReadResult Read(const std::string& /*type*/, const std::string& /*id*/) {
    return Unsupported<ReadResult>(TransportOperation::kRead);
  }
  // Several resources of one type in as few round trips as the remote allows.
  virtual ReadManyResult ReadMany(const std::string& /*type*/,
                                  const std::vector<std::string>& /*ids*/) {
    return Unsupported<ReadManyResult>(TransportOperation::kReadMany);
  }
  // Creates `resource` at its own id. Never replaces a live resource the
  // remote holds there (another node may have created one with the same
  // id): kAlreadyExists, or kAborted with HTTP 409/412 as a FHIR server
  // answers If-None-Match: *. The push service then reads the remote copy:
  // the same content counts as delivered, other content is a conflict.
  virtual RemoteWriteResult Create(const RemoteResource& /*resource*/) {
    return Unsupported<RemoteWriteResult>(TransportOperation::kCreate);
  }
  // Replaces `resource`. `expected_version` is the remote version the change
  // was based on: kAborted when the remote now holds another one. Empty means
  // unconditional (an operator's forced retry).
  virtual RemoteWriteResult Update(const RemoteResource& /*resource*/,
                             const std::string& /*expected_version*/) {
    return Unsupported<RemoteWriteResult>(TransportOperation::kUpdate);
  }
  // Deletes type/id, guarded like Update().
  virtual RemoteWriteResult Delete(const std::string& /*type*/, const std::string& /*id*/,
                             const std::string& /*expected_version*/) {
    return Unsupported<RemoteWriteResult>(TransportOperation::kDelete);
  }
  // Up to `max_entries` changes after position `since` (empty: from the
  // start). InvalidArgument when `since` is not a position this remote made.
  virtual ChangePage ReadChanges(const std::string& /*since*/, int /*max_entries*/) {
    return Unsupported<ChangePage>(TransportOperation::kHistory);
  }

  // ABI minor 1. Several writes in as few round trips as the remote allows
  // (a FHIR batch Bundle), each judged on its own: one result per request,
  // in request order, each with its own status, as Create()/Update()/
  // Delete() would have answered it. If the round trip itself fails, every
  // result carries that failure. The default sends them one at a time.
  virtual std::vector<RemoteWriteResult> WriteMany(const std::vector<WriteRequest>& requests) {
    std::vector<RemoteWriteResult> results;
    results.reserve(requests.size());
    for (const WriteRequest& request : requests) {
      switch (request.operation) {
        case TransportOperation::kCreate:
          results.push_back(Create(request.resource));
          break;
        case TransportOperation::kUpdate:
          results.push_back(Update(request.resource, request.expected_version));
          break;
        case TransportOperation::kDelete:
          results.push_back(
              Delete(request.resource.type, request.resource.id, request.expected_version));
          break;
        default: {
          RemoteWriteResult result;
          result.status = Status(StatusCode::kInvalidArgument,
                                 "WriteMany carries create, update and delete, not " +
                                     std::string(TransportOperationName(request.operation)));
          results.push_back(std::move(result));
        }
      }
    }
    return results;
  }

  // ABI minor 2 (operation `export`; docs/snapshot.md). Starts a snapshot of
  // the current resources of `types` (empty: every type the plugin carries)
  // and waits, within the plugin's deadline, until it is ready. `job`, when
  // not empty, is an ExportResult::job of an earlier call: that job is
  // asked again first, and a new one started only when the remote no longer
  // has it. kDeadlineExceeded when the snapshot was not ready in time (the
  // job is still in the result, to be asked again); the remote's error
  // otherwise.
  virtual ExportResult StartExport(const std::vector<std::string>& /*types*/,
                                   const std::string& /*job*/) {
    return Unsupported<ExportResult>(TransportOperation::kExport);
  }
  // Streams the plain (not compressed) bytes of the export file `url` (from
  // the manifest) to `sink`, starting at byte `from_byte`, in pieces as they
  // arrive. `sink` returns false to stop (the call then returns kCancelled).
  // kNotFound when the remote no longer has the file (the job expired);
  // the remote's or the connection's error otherwise (after which the
  // caller may ask again from the bytes it has).
  virtual CallOutcome ReadExportFile(const std::string& /*url*/, std::int64_t /*from_byte*/,
                                     const std::function<bool(std::string_view chunk)>& /*sink*/) {
    return Unsupported<CallOutcome>(TransportOperation::kExport);
  }

 protected:
  template <typename Result>
  static Result Unsupported(TransportOperation op) {
    Result result;
    result.status = Status(StatusCode::kUnimplemented,
                           "this transport does not support " +
                               std::string(TransportOperationName(op)));
    return result;
  }
};

}  // namespace fhirsync

#endif  // FHIRSYNC_PLUGIN_TRANSPORT_PLUGIN_H_
