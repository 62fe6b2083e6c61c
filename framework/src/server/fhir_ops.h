// Pieces shared by the single-resource handlers and Bundle processing
// (internal): turning a request into a checked WriteOp, version headers.

#ifndef FHIRSYNC_SERVER_FHIR_OPS_H_
#define FHIRSYNC_SERVER_FHIR_OPS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhirsync/local_store.h"
#include "fhirsync/resource.h"
#include "fhirsync/status.h"
#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

// W/"3"
std::string EtagFor(std::int64_t version);
// RFC 7231 date: "Sun, 22 Nov 2026 10:15:30 GMT".
std::string HttpDate(std::int64_t epoch_ms);

// Parses an If-Match value (W/"3", "3" or 3). nullopt when `value` is null;
// InvalidArgument naming the text when it is not a version.
StatusOr<std::optional<std::int64_t>> ParseIfMatch(const std::string* value);

// Checks the URL parts: InvalidArgument naming a bad type or id.
Status CheckTypeAndId(std::string_view type, std::string_view id);

// A type a FHIR write would store: one of FHIR R4's resource types, or one
// the node's config declares (ServerContext::declared_types), so that a
// well-formed name like "EvilType" is not stored and served to every child.
// InvalidArgument naming the type otherwise. Reads and deletes take any
// well-formed name: what a node holds stays readable and removable.
Status CheckWritableType(const ServerContext& context, std::string_view type);

// An update (PUT) of type/id with `body`: the body must be a FHIR JSON
// object whose resourceType is `type` and whose id is `id`. InvalidArgument
// naming the mismatch or a type CheckWritableType() refuses,
// ResourceExhausted for an oversize body,
// FailedPrecondition when a business rule refuses it (business_rules.h).
// Answer a failure with PrepareErrorResponse().
StatusOr<WriteOp> PrepareUpdate(const ServerContext& context, const std::string& type,
                                const std::string& id, std::string body,
                                std::optional<std::int64_t> expected_version);

// A create (POST) of `type` at `id` (a fresh UUID unless the caller has one):
// any id in the body is replaced, as FHIR says a server ignores it. Fails
// as PrepareUpdate().
StatusOr<WriteOp> PrepareCreate(const ServerContext& context, const std::string& type,
                                const std::string& id, const std::string& body);

// Applies a write's If-None-Match (a PUT's header, or a Bundle entry's
// request.ifNoneMatch) to `op`. On a write it is a precondition (RFC 7232
// §3.2), not the cache validator a GET sends (feed_handler answers that one
// with 304): "*" lets the PUT only create, so that a child's create cannot
// replace a resource another node created at the same id. `if_none_match`
// null: `op` is left as it is. "*": op->expected_version becomes the version
// the create must still find when the store writes it (0: absent; a
// tombstone's version: a deleted resource may be created again), so that a
// concurrent create loses with kAborted (412) too. Returns AlreadyExists
// "Patient/x already exists (version 3)" when a live resource is there;
// InvalidArgument for another value, with If-Match, or on a delete; a store
// read failure as it is.
Status ApplyIfNoneMatch(const ServerContext& context, const std::string* if_none_match,
                        WriteOp* op);

// A delete of type/id.
WriteOp PrepareDelete(const std::string& type, const std::string& id,
                      std::optional<std::int64_t> expected_version);

// ETag, Last-Modified and the FHIR content type.
void AddVersionHeaders(const Resource& resource, HttpResponse* response);

// The response for a stored resource version: 200 with the body, or 410
// with an OperationOutcome for a tombstone (ETag still set).
HttpResponse ResourceResponse(const Resource& resource, int ok_status);

// Maps a PrepareUpdate()/PrepareCreate()/ApplyIfNoneMatch() failure to its
// response: a business rule (FailedPrecondition) becomes 422
// "business-rule", an existing resource under If-None-Match: *
// (AlreadyExists) 412 "duplicate"; others per HttpStatusFor().
HttpResponse PrepareErrorResponse(const Status& status);

// Maps a store Write() failure to its response: Aborted becomes
// 412 "version conflict"; others per HttpStatusFor().
HttpResponse WriteErrorResponse(const Status& status);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_FHIR_OPS_H_
