// Single-resource interactions and the CapabilityStatement.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>
#include <string>

#include "fhirsync/fhir_resource_types.h"
#include "fhirsync/base/text_util.h"
#include "server/fhir_ops.h"
#include "server/handlers.h"
#include "server/operation_outcome.h"
#include "server/search_params.h"

namespace fhirsync::server {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(JsonWriter& w, std::string_view text) {
  w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void Interactions(JsonWriter& w, std::initializer_list<const char*> codes) {
  w.Key("interaction");
  w.StartArray();
  for (const char* code : codes) {
    w.StartObject();
    w.Key("code");
    w.String(code);
    w.EndObject();
  }
  w.EndArray();
}

void SearchParam(JsonWriter& w, const char* name, const char* type) {
  w.StartObject();
  w.Key("name");
  w.String(name);
  w.Key("type");
  w.String(type);
  w.EndObject();
}

// The response to a successful write of one resource: the stored version
// read back (so the body carries meta.versionId/lastUpdated) with
// Location for a create.
HttpResponse WrittenResponse(ServerContext& context, const HttpRequest& request,
                             const WriteResult& written) {
  int status = written.changed && written.action == ChangeAction::kCreate ? 201 : 200;
  auto stored = context.store->GetVersion(written.type, written.id, written.version);
  if (!stored.ok()) return ErrorResponse(stored.status());
  HttpResponse response = ResourceResponse(*stored, status);
  if (status == 201) {
    response.SetHeader("Location", request.base_url + "/fhir/" + written.type + "/" + written.id + "/_history/" +
                                       std::to_string(written.version));
  }
  return response;
}

}  // namespace

HttpResponse HandleMetadata(ServerContext& context, const HttpRequest& request) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("resourceType");
  w.String("CapabilityStatement");
  w.Key("status");
  w.String("active");
  w.Key("date");
  Str(w, FormatInstant(NowMillis()));
  w.Key("kind");
  w.String("instance");
  w.Key("software");
  w.StartObject();
  w.Key("name");
  w.String("fhirsync");
  w.EndObject();
  w.Key("implementation");
  w.StartObject();
  w.Key("description");
  Str(w, "fhirsync node " + context.node_id);
  w.EndObject();
  w.Key("fhirVersion");
  w.String("4.0.1");
  w.Key("format");
  w.StartArray();
  w.String("json");
  w.EndArray();
  w.Key("rest");
  w.StartArray();
  w.StartObject();
  w.Key("mode");
  w.String("server");
  w.Key("security");
  w.StartObject();
  w.Key("description");
  w.String("HTTP Basic or Bearer token; GET needs the read role, writes the write role");
  w.EndObject();
  w.Key("resource");
  w.StartArray();
  // Every type a write may store (fhir_ops.h): every R4 type, and those the
  // node's config declares. Resources held in OpenMRS REST representation
  // ("visittype") are served under /ws/rest/v1, not as FHIR types.
  std::set<std::string> types;
  for (std::string_view type : FhirR4ResourceTypes()) types.emplace(type);
  for (const std::string& declared : context.declared_types) {
    if (ValidateResourceType(declared).ok()) types.insert(declared);
  }
  for (const std::string& type : types) {
    w.StartObject();
    w.Key("type");
    Str(w, type);
    Interactions(w, {"read", "vread", "update", "create", "delete", "history-instance",
                     "history-type", "search-type"});
    w.Key("versioning");
    w.String("versioned-update");
    w.Key("readHistory");
    w.Bool(true);
    w.Key("updateCreate");
    w.Bool(true);
    w.Key("conditionalCreate");
    w.Bool(true);
    w.Key("conditionalUpdate");
    w.Bool(false);
    w.Key("conditionalDelete");
    w.String("not-supported");
    w.Key("searchParam");
    w.StartArray();
    SearchParam(w, "_id", "token");
    SearchParam(w, "_lastUpdated", "date");
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  Interactions(w, {"transaction", "batch", "history-system"});
  if (context.exports != nullptr) {
    // FHIR Bulk Data's system-level export (docs/snapshot.md).
    w.Key("operation");
    w.StartArray();
    w.StartObject();
    w.Key("name");
    w.String("export");
    w.Key("definition");
    w.String("http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export");
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
  w.EndArray();
  w.EndObject();
  HttpResponse response;
  response.content_type = kFhirJson;
  response.body.assign(buffer.GetString(), buffer.GetSize());
  return response;
}

HttpResponse HandleRead(ServerContext& context, const HttpRequest& request,
                        const std::string& type, const std::string& id) {
  auto resource = context.store->Get(type, id);
  if (!resource.ok()) return ErrorResponse(resource.status());
  return ResourceResponse(*resource, 200);
}

HttpResponse HandleVread(ServerContext& context, const HttpRequest& request,
                         const std::string& type, const std::string& id,
                         const std::string& version) {
  auto number = ParseNonNegative("version", version);
  if (!number.ok() || *number == 0) {
    return ErrorResponse(400, "invalid",
                         "URL: version '" + EscapeForMessage(version) +
                             "' is not a version number (1, 2, ...)");
  }
  auto resource = context.store->GetVersion(type, id, *number);
  if (!resource.ok()) return ErrorResponse(resource.status());
  return ResourceResponse(*resource, 200);
}

HttpResponse HandleUpdate(ServerContext& context, const HttpRequest& request,
                          const std::string& type, const std::string& id) {
  auto expected = ParseIfMatch(request.Header("If-Match"));
  if (!expected.ok()) return ErrorResponse(expected.status());
  auto op = PrepareUpdate(context, type, id, request.body, *expected);
  if (!op.ok()) return PrepareErrorResponse(op.status());
  // Judged after the body (RFC 7232 §5): a bad body is a 400 either way.
  Status create_only = ApplyIfNoneMatch(context, request.Header("If-None-Match"), &*op);
  if (!create_only.ok()) return PrepareErrorResponse(create_only);
  auto written = context.store->Put(*op);
  if (!written.ok()) return WriteErrorResponse(written.status());
  return WrittenResponse(context, request, *written);
}

HttpResponse HandleCreate(ServerContext& context, const HttpRequest& request,
                          const std::string& type) {
  if (const std::string* condition = request.Header("If-None-Exist")) {
    auto params = ParseQueryString(*condition);
    if (!params.ok()) return ErrorResponse(params.status().WithContext("If-None-Exist"));
    auto query = ParseSearchParams(type, *params);
    if (!query.ok()) return ErrorResponse(query.status().WithContext("If-None-Exist"));
    query->offset = 0;
    query->limit = 2;
    auto found = context.store->Search(*query);
    if (!found.ok()) return ErrorResponse(found.status());
    if (found->total > 1) {
      return ErrorResponse(412, "duplicate",
                           "If-None-Exist '" + EscapeForMessage(*condition) + "' matches " +
                               std::to_string(found->total) + " resources");
    }
    if (found->total == 1 && !found->resources.empty()) {
      // FHIR: an existing match is returned as it is, with 200.
      return ResourceResponse(found->resources.front(), 200);
    }
  }
  auto op = PrepareCreate(context, type, NewUuid(), request.body);
  if (!op.ok()) return PrepareErrorResponse(op.status());
  auto written = context.store->Put(*op);
  if (!written.ok()) return WriteErrorResponse(written.status());
  return WrittenResponse(context, request, *written);
}

HttpResponse HandleDelete(ServerContext& context, const HttpRequest& request,
                          const std::string& type, const std::string& id) {
  auto expected = ParseIfMatch(request.Header("If-Match"));
  if (!expected.ok()) return ErrorResponse(expected.status());
  WriteOp op = PrepareDelete(type, id, *expected);
  Status create_only = ApplyIfNoneMatch(context, request.Header("If-None-Match"), &op);
  if (!create_only.ok()) return ErrorResponse(create_only);
  auto written = context.store->Write(std::vector<WriteOp>{std::move(op)}, WriteOptions{});
  if (!written.ok()) return WriteErrorResponse(written.status());
  HttpResponse response;
  response.status = 204;
  response.SetHeader("ETag", EtagFor(written->front().version));
  return response;
}

}  // namespace fhirsync::server
