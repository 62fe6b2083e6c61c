#include "server/openmrs_rest_handlers.h"

#include <optional>
#include <string>
#include <vector>

#include "fhirsync/base/text_util.h"
#include "server/fhir_ops.h"
#include "server/openmrs_rest_json.h"

namespace fhirsync::server {
namespace {

constexpr char kRestPrefix[] = "/ws/rest/v1";

std::string SelfUrl(const HttpRequest& request, const std::string& resource,
                    const std::string& uuid) {
  return request.base_url + kRestPrefix + "/" + resource + "/" + uuid;
}

// The resource held at resource/uuid in openmrs-rest format. NotFound when
// there is none, it was purged, or it is held in another format (a FHIR
// resource is not visible here).
StatusOr<Resource> GetRestResource(ServerContext& context, const std::string& resource,
                                   const std::string& uuid) {
  auto held = context.store->Get(resource, uuid);
  const std::string key = EscapeForMessage(resource) + "/" + EscapeForMessage(uuid);
  if (!held.ok()) {
    if (held.status().code() == StatusCode::kNotFound) {
      return NotFoundError("no " + key + " is held here");
    }
    return held.status();
  }
  if (held->format != ResourceFormat::kOpenmrsRest) {
    return NotFoundError("no " + key + " is held in OpenMRS REST representation");
  }
  if (held->deleted) return NotFoundError(key + " was purged");
  return held;
}

// The answer for a stored version: its representation, ETag, and Location
// for a create.
HttpResponse Represented(ServerContext& context, const HttpRequest& request,
                         const Resource& resource, RestRepresentation representation,
                         int status) {
  std::int64_t created_ms = resource.last_updated_ms;
  if (resource.version > 1) {
    auto first = context.store->GetVersion(resource.type, resource.id, 1);
    if (first.ok()) created_ms = first->last_updated_ms;
  }
  const std::string self = SelfUrl(request, resource.type, resource.id);
  HttpResponse response;
  response.status = status;
  response.content_type = kRestJson;
  response.body = RestRepresentationBody(resource, representation, self, created_ms);
  response.SetHeader("ETag", EtagFor(resource.version));
  if (status == 201) response.SetHeader("Location", self);
  return response;
}

// Writes one op and answers with the full representation of what is stored.
HttpResponse WriteAndRepresent(ServerContext& context, const HttpRequest& request,
                               const WriteOp& op, int ok_status) {
  auto written = context.store->Put(op);
  if (!written.ok()) return RestErrorResponse(written.status());
  auto stored = context.store->GetVersion(written->type, written->id, written->version);
  if (!stored.ok()) return RestErrorResponse(stored.status());
  return Represented(context, request, *stored, RestRepresentation::kFull, ok_status);
}

HttpResponse HandleGet(ServerContext& context, const HttpRequest& request,
                       const std::string& resource, const std::string& uuid) {
  auto representation = ParseRestRepresentation(request.Query("v"));
  if (!representation.ok()) return RestErrorResponse(representation.status());
  auto held = GetRestResource(context, resource, uuid);
  if (!held.ok()) return RestErrorResponse(held.status());
  return Represented(context, request, *held, *representation, 200);
}

HttpResponse HandleCreate(ServerContext& context, const HttpRequest& request,
                          const std::string& resource) {
  rapidjson::Document body;
  if (Status parsed = ParseRestBody(request.body, &body); !parsed.ok()) {
    return RestErrorResponse(parsed);
  }
  std::string uuid;
  auto given = body.FindMember("uuid");
  if (given != body.MemberEnd()) {
    if (!given->value.IsString()) return RestErrorResponse(400, "uuid is not a string");
    uuid.assign(given->value.GetString(), given->value.GetStringLength());
    if (Status valid = ValidateId(uuid); !valid.ok()) {
      return RestErrorResponse(valid.WithContext("uuid"));
    }
  } else {
    uuid = NewUuid();
  }
  // A create never replaces a live object: that would lose the other
  // writer's data without a version check. A purged one may be made again.
  std::int64_t expected = 0;
  auto existing = context.store->Get(resource, uuid);
  if (existing.ok()) {
    if (!existing->deleted) {
      return RestErrorResponse(409, EscapeForMessage(resource) + "/" + EscapeForMessage(uuid) +
                                        " already exists; update it with POST " + kRestPrefix +
                                        "/" + EscapeForMessage(resource) + "/" +
                                        EscapeForMessage(uuid));
    }
    expected = existing->version;
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return RestErrorResponse(existing.status());
  }
  WriteOp op;
  op.type = resource;
  op.id = uuid;
  op.format = ResourceFormat::kOpenmrsRest;
  op.body = StoredRestBody(body, uuid);
  op.expected_version = expected;
  return WriteAndRepresent(context, request, op, 201);
}

HttpResponse HandleUpdate(ServerContext& context, const HttpRequest& request,
                          const std::string& resource, const std::string& uuid) {
  auto expected = ParseIfMatch(request.Header("If-Match"));
  if (!expected.ok()) return RestErrorResponse(expected.status());
  rapidjson::Document update;
  if (Status parsed = ParseRestBody(request.body, &update); !parsed.ok()) {
    return RestErrorResponse(parsed);
  }
  auto given = update.FindMember("uuid");
  if (given != update.MemberEnd() &&
      (!given->value.IsString() || given->value.GetString() != uuid)) {
    return RestErrorResponse(400, "body uuid does not match the uuid '" + uuid + "' in the URL");
  }
  auto held = GetRestResource(context, resource, uuid);
  if (!held.ok()) return RestErrorResponse(held.status());
  if (*expected && **expected != held->version) {
    return RestErrorResponse(412, "version conflict: If-Match expects version " +
                                      std::to_string(**expected) + " but the current version is " +
                                      std::to_string(held->version));
  }
  rapidjson::Document stored;
  stored.Parse(held->body.data(), held->body.size());
  if (stored.HasParseError() || !stored.IsObject()) stored.SetObject();
  WriteOp op;
  op.type = resource;
  op.id = uuid;
  op.format = ResourceFormat::kOpenmrsRest;
  op.body = MergedRestBody(stored, update, uuid);
  // Guards against a write between the read above and this one.
  op.expected_version = held->version;
  return WriteAndRepresent(context, request, op, 200);
}

HttpResponse HandleDelete(ServerContext& context, const HttpRequest& request,
                          const std::string& resource, const std::string& uuid) {
  auto expected = ParseIfMatch(request.Header("If-Match"));
  if (!expected.ok()) return RestErrorResponse(expected.status());
  const std::string* purge = request.Query("purge");
  if (purge != nullptr && *purge != "true" && *purge != "false") {
    return RestErrorResponse(400, "purge='" + EscapeForMessage(*purge) +
                                      "' is not true or false");
  }
  auto held = GetRestResource(context, resource, uuid);
  if (!held.ok()) return RestErrorResponse(held.status());
  if (*expected && **expected != held->version) {
    return RestErrorResponse(412, "version conflict: If-Match expects version " +
                                      std::to_string(**expected) + " but the current version is " +
                                      std::to_string(held->version));
  }
  HttpResponse done;
  done.status = 204;
  if (purge != nullptr && *purge == "true") {
    WriteOp purge_op;
    purge_op.kind = WriteOp::Kind::kDelete;
    purge_op.type = resource;
    purge_op.id = uuid;
    purge_op.format = ResourceFormat::kOpenmrsRest;
    purge_op.expected_version = held->version;
    auto written = context.store->Write(std::vector<WriteOp>{purge_op}, WriteOptions{});
    if (!written.ok()) return RestErrorResponse(written.status());
    done.SetHeader("ETag", EtagFor(written->front().version));
    return done;
  }
  // Void: OpenMRS keeps the object and marks it; metadata (which has a
  // "retired" property) is retired instead.
  rapidjson::Document stored;
  stored.Parse(held->body.data(), held->body.size());
  if (stored.HasParseError() || !stored.IsObject()) stored.SetObject();
  const bool metadata = stored.HasMember("retired");
  const std::string* reason = request.Query("reason");
  rapidjson::Document marks(rapidjson::kObjectType);
  auto& alloc = marks.GetAllocator();
  marks.AddMember(rapidjson::StringRef(metadata ? "retired" : "voided"), true, alloc);
  const std::string why = reason != nullptr ? *reason : std::string();
  marks.AddMember(rapidjson::StringRef(metadata ? "retireReason" : "voidReason"),
                  rapidjson::Value(why.data(), static_cast<rapidjson::SizeType>(why.size()), alloc),
                  alloc);
  WriteOp op;
  op.type = resource;
  op.id = uuid;
  op.format = ResourceFormat::kOpenmrsRest;
  op.body = MergedRestBody(stored, marks, uuid);
  op.expected_version = held->version;
  auto written = context.store->Put(op);
  if (!written.ok()) return RestErrorResponse(written.status());
  done.SetHeader("ETag", EtagFor(written->version));
  return done;
}

HttpResponse MethodNotAllowed(const HttpRequest& request, const char* allow) {
  HttpResponse response = RestErrorResponse(
      405, "method " + EscapeForMessage(request.method) + " is not allowed here (allowed: " +
               allow + ")");
  response.SetHeader("Allow", allow);
  return response;
}

}  // namespace

bool IsOpenmrsRestTarget(const std::string& uri) { return uri.rfind("/ws/rest/", 0) == 0; }

bool IsOpenmrsRestRequest(const HttpRequest& request) {
  const auto& s = request.segments;
  return s.size() >= 2 && s[0] == "ws" && s[1] == "rest";
}

HttpResponse DispatchOpenmrsRest(ServerContext& context, const HttpRequest& request) {
  const auto& s = request.segments;  // ws, rest, v1, resource[, uuid]
  if (s.size() < 4 || s.size() > 5 || s[2] != "v1") {
    std::string path;
    for (const std::string& segment : s) path += "/" + segment;
    return RestErrorResponse(404, "no OpenMRS REST endpoint at '" + EscapeForMessage(path) +
                                      "' (this node serves /ws/rest/v1/{resource}/{uuid})");
  }
  const std::string& resource = s[3];
  if (Status valid = ValidateRestResourceName(resource); !valid.ok()) {
    return RestErrorResponse(valid.WithContext("URL"));
  }
  const std::string& m = request.method;
  if (s.size() == 4) {
    if (m == "POST") return HandleCreate(context, request, resource);
    if (m == "GET" || m == "HEAD") {
      return RestErrorResponse(501, "searching " + EscapeForMessage(resource) +
                                        " is not supported; GET " + kRestPrefix + "/" +
                                        EscapeForMessage(resource) + "/{uuid}");
    }
    return MethodNotAllowed(request, "POST");
  }
  const std::string& uuid = s[4];
  if (Status valid = ValidateId(uuid); !valid.ok()) {
    return RestErrorResponse(valid.WithContext("URL"));
  }
  if (m == "GET" || m == "HEAD") return HandleGet(context, request, resource, uuid);
  if (m == "POST") return HandleUpdate(context, request, resource, uuid);
  if (m == "DELETE") return HandleDelete(context, request, resource, uuid);
  return MethodNotAllowed(request, "GET, POST, DELETE");
}

}  // namespace fhirsync::server
