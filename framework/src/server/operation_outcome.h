// OperationOutcome bodies: every error the server sends is one (internal).

#ifndef FHIRSYNC_SERVER_OPERATION_OUTCOME_H_
#define FHIRSYNC_SERVER_OPERATION_OUTCOME_H_

#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "fhirsync/status.h"
#include "server/http_types.h"

namespace fhirsync::server {

// {"resourceType":"OperationOutcome","issue":[{"severity":...,"code":...,
// "diagnostics":...}]}. `issue_code` is a FHIR IssueType ("invalid",
// "not-found", "conflict", ...).
std::string OperationOutcomeJson(std::string_view severity, std::string_view issue_code,
                                 std::string_view diagnostics);
// The same, as a value allocated in `alloc` (for Bundle entry outcomes).
rapidjson::Value OperationOutcomeValue(std::string_view severity, std::string_view issue_code,
                                       std::string_view diagnostics,
                                       rapidjson::Document::AllocatorType& alloc);

// An error response with an OperationOutcome body.
HttpResponse ErrorResponse(int http_status, std::string_view issue_code,
                           std::string_view diagnostics);

// The HTTP status a store/handler Status maps to (architecture §5 read backwards):
// InvalidArgument 400, Unauthenticated 401, PermissionDenied 403,
// NotFound 404, AlreadyExists 409, Aborted/FailedPrecondition 412,
// ResourceExhausted 413, Unimplemented 501, Unavailable 503, others 500.
int HttpStatusFor(StatusCode code);
// The IssueType for a code ("invalid", "not-found", "conflict", ...).
std::string_view IssueCodeFor(StatusCode code);

// ErrorResponse(HttpStatusFor(s.code()), IssueCodeFor(s.code()), s.message()).
HttpResponse ErrorResponse(const Status& status);

// "200 OK", "404 Not Found": the text a Bundle entry's response.status holds.
std::string StatusLine(int http_status);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_OPERATION_OUTCOME_H_
