#include "server/fhir_ops.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <charconv>
#include <unordered_set>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/fhir_resource_types.h"
#include "fhirsync/base/text_util.h"
#include "server/business_rules.h"
#include "server/operation_outcome.h"

namespace fhirsync::server {

std::string EtagFor(std::int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

std::string HttpDate(std::int64_t epoch_ms) {
  Poco::Timestamp stamp(static_cast<Poco::Timestamp::TimeVal>(epoch_ms) * 1000);
  return Poco::DateTimeFormatter::format(stamp, Poco::DateTimeFormat::HTTP_FORMAT);
}

StatusOr<std::optional<std::int64_t>> ParseIfMatch(const std::string* value) {
  if (value == nullptr) return std::optional<std::int64_t>();
  std::string_view text = TrimSpaces(*value);
  if (text.size() >= 2 && (text[0] == 'W' || text[0] == 'w') && text[1] == '/') {
    text.remove_prefix(2);
  }
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  std::int64_t version = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || version < 0) {
    return InvalidArgumentError("If-Match '" + EscapeForMessage(*value) +
                                "' is not a version (expected W/\"<number>\")");
  }
  return std::optional<std::int64_t>(version);
}

Status CheckTypeAndId(std::string_view type, std::string_view id) {
  FHIRSYNC_RETURN_IF_ERROR(ValidateResourceType(type).WithContext("URL"));
  return ValidateId(id).WithContext("URL");
}

Status CheckWritableType(const ServerContext& context, std::string_view type) {
  static const std::unordered_set<std::string_view> kR4Types(FhirR4ResourceTypes().begin(),
                                                             FhirR4ResourceTypes().end());
  if (kR4Types.count(type) > 0 || context.declared_types.count(type) > 0) return Status::Ok();
  return InvalidArgumentError("resource type '" + EscapeForMessage(type) +
                              "' is not a FHIR R4 resource type, nor one this node's config "
                              "declares (pull.types, plugins.routes)");
}

StatusOr<WriteOp> PrepareUpdate(const ServerContext& context, const std::string& type,
                                const std::string& id, std::string body,
                                std::optional<std::int64_t> expected_version) {
  FHIRSYNC_RETURN_IF_ERROR(CheckTypeAndId(type, id));
  FHIRSYNC_RETURN_IF_ERROR(CheckWritableType(context, type).WithContext("URL"));
  FHIRSYNC_ASSIGN_OR_RETURN(FhirDocument doc,
                            ParseFhirBody(body, context.config.max_request_bytes));
  if (doc.resource_type != type) {
    return InvalidArgumentError("body resourceType '" + EscapeForMessage(doc.resource_type) +
                                "' does not match the URL type '" + type + "'");
  }
  if (doc.id.empty()) {
    return InvalidArgumentError("body has no id; an update must carry the id of its URL ('" +
                                id + "')");
  }
  if (doc.id != id) {
    return InvalidArgumentError("body id '" + EscapeForMessage(doc.id) +
                                "' does not match the URL id '" + id + "'");
  }
  FHIRSYNC_RETURN_IF_ERROR(CheckBusinessRules(context, type, id, doc.json, body));
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.type = type;
  op.id = id;
  op.body = std::move(body);
  op.expected_version = expected_version;
  return op;
}

StatusOr<WriteOp> PrepareCreate(const ServerContext& context, const std::string& type,
                                const std::string& id, const std::string& body) {
  FHIRSYNC_RETURN_IF_ERROR(CheckTypeAndId(type, id));
  FHIRSYNC_RETURN_IF_ERROR(CheckWritableType(context, type).WithContext("URL"));
  FHIRSYNC_ASSIGN_OR_RETURN(FhirDocument doc,
                            ParseFhirBody(body, context.config.max_request_bytes));
  if (doc.resource_type != type) {
    return InvalidArgumentError("body resourceType '" + EscapeForMessage(doc.resource_type) +
                                "' does not match the URL type '" + type + "'");
  }
  FHIRSYNC_RETURN_IF_ERROR(CheckBusinessRules(context, type, id, doc.json, body));
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.type = type;
  op.id = id;
  if (doc.id.empty() || doc.id == id) {
    op.body = body;
  } else {
    doc.json.RemoveMember("id");
    op.body = WriteJson(doc.json);
  }
  op.expected_version = 0;  // must not exist yet
  return op;
}

Status ApplyIfNoneMatch(const ServerContext& context, const std::string* if_none_match,
                        WriteOp* op) {
  if (if_none_match == nullptr) return Status::Ok();
  if (TrimSpaces(*if_none_match) != "*") {
    return InvalidArgumentError("If-None-Match '" + EscapeForMessage(*if_none_match) +
                                "' is not supported on a write; only '*' (create only if "
                                "absent)");
  }
  if (op->kind != WriteOp::Kind::kPut) {
    return InvalidArgumentError("If-None-Match: * goes with a PUT (a create), not a delete");
  }
  if (op->expected_version) {
    return InvalidArgumentError(
        "If-None-Match: * (create only) and If-Match (update a version) exclude each other");
  }
  StatusOr<Resource> current = context.store->Get(op->type, op->id);
  if (!current.ok()) {
    if (current.status().code() != StatusCode::kNotFound) return current.status();
    op->expected_version = 0;
    return Status::Ok();
  }
  if (!current->deleted) {
    return AlreadyExistsError(op->type + "/" + op->id + " already exists (version " +
                              std::to_string(current->version) +
                              "); If-None-Match: * only creates");
  }
  op->expected_version = current->version;
  return Status::Ok();
}

WriteOp PrepareDelete(const std::string& type, const std::string& id,
                      std::optional<std::int64_t> expected_version) {
  WriteOp op;
  op.kind = WriteOp::Kind::kDelete;
  op.type = type;
  op.id = id;
  op.expected_version = expected_version;
  return op;
}

void AddVersionHeaders(const Resource& resource, HttpResponse* response) {
  response->SetHeader("ETag", EtagFor(resource.version));
  response->SetHeader("Last-Modified", HttpDate(resource.last_updated_ms));
}

HttpResponse ResourceResponse(const Resource& resource, int ok_status) {
  HttpResponse response;
  if (resource.deleted) {
    response = ErrorResponse(410, "deleted",
                             resource.Key() + " was deleted (version " +
                                 std::to_string(resource.version) + ")");
  } else {
    response.status = ok_status;
    response.content_type = kFhirJson;
    response.body = resource.body;
  }
  AddVersionHeaders(resource, &response);
  return response;
}

HttpResponse PrepareErrorResponse(const Status& status) {
  if (status.code() == StatusCode::kFailedPrecondition) {
    return ErrorResponse(422, "business-rule", status.message());
  }
  if (status.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(412, "duplicate", status.message());
  }
  return ErrorResponse(status);
}

HttpResponse WriteErrorResponse(const Status& status) {
  if (status.code() == StatusCode::kAborted) {
    return ErrorResponse(412, "conflict", "version conflict: " + status.message());
  }
  return ErrorResponse(status);
}

}  // namespace fhirsync::server
