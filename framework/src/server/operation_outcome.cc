#include "server/operation_outcome.h"

#include <Poco/Net/HTTPResponse.h>

#include "fhirsync/base/fhir_json.h"

namespace fhirsync::server {

namespace {
rapidjson::Value Str(std::string_view text, rapidjson::Document::AllocatorType& alloc) {
  return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), alloc);
}
}  // namespace

rapidjson::Value OperationOutcomeValue(std::string_view severity, std::string_view issue_code,
                                       std::string_view diagnostics,
                                       rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value issue(rapidjson::kObjectType);
  issue.AddMember("severity", Str(severity, alloc), alloc);
  issue.AddMember("code", Str(issue_code, alloc), alloc);
  issue.AddMember("diagnostics", Str(diagnostics, alloc), alloc);
  rapidjson::Value issues(rapidjson::kArrayType);
  issues.PushBack(issue, alloc);
  rapidjson::Value outcome(rapidjson::kObjectType);
  outcome.AddMember("resourceType", "OperationOutcome", alloc);
  outcome.AddMember("issue", issues, alloc);
  return outcome;
}

std::string OperationOutcomeJson(std::string_view severity, std::string_view issue_code,
                                 std::string_view diagnostics) {
  rapidjson::Document doc;
  rapidjson::Value outcome =
      OperationOutcomeValue(severity, issue_code, diagnostics, doc.GetAllocator());
  return WriteJson(outcome);
}

HttpResponse ErrorResponse(int http_status, std::string_view issue_code,
                           std::string_view diagnostics) {
  HttpResponse response;
  response.status = http_status;
  response.content_type = kFhirJson;
  response.body = OperationOutcomeJson("error", issue_code, diagnostics);
  return response;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition: return 412;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

std::string_view IssueCodeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return "invalid";
    case StatusCode::kUnauthenticated: return "login";
    case StatusCode::kPermissionDenied: return "forbidden";
    case StatusCode::kNotFound: return "not-found";
    case StatusCode::kAlreadyExists: return "duplicate";
    case StatusCode::kAborted:
    case StatusCode::kFailedPrecondition: return "conflict";
    case StatusCode::kResourceExhausted: return "too-costly";
    case StatusCode::kUnimplemented: return "not-supported";
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded: return "transient";
    default: return "exception";
  }
}

HttpResponse ErrorResponse(const Status& status) {
  return ErrorResponse(HttpStatusFor(status.code()), IssueCodeFor(status.code()),
                       status.message());
}

std::string StatusLine(int http_status) {
  return std::to_string(http_status) + " " +
         Poco::Net::HTTPResponse::getReasonForStatus(
             static_cast<Poco::Net::HTTPResponse::HTTPStatus>(http_status));
}

}  // namespace fhirsync::server
