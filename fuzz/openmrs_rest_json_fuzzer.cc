// Fuzzes OpenMRS REST JSON both ways: what the node's OpenMRS REST facade
// does with a posted body (server/openmrs_rest_json.cc, and the handlers
// behind POST /ws/rest/v1/{resource}[/{uuid}] against a real SQLite store)
// and what fhirsync's rest-client reads from an OpenMRS answer
// (rest-client/src/rest_wire.cc: error bodies, auditInfo dates, uuids).
//
// Properties: no crash or sanitizer report; the stored form of an accepted
// body is a JSON object holding the given uuid and none of the
// representation-only members; every representation of it is a JSON
// object; the server's answers are JSON objects and never a 500; the
// client's error message stays within its 2000 characters.

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "fuzz_store.h"
#include "rest_wire.h"
#include "fhirsync/base/json_depth.h"
#include "server/openmrs_rest_json.h"
#include "server/router.h"
#include "server/server_context.h"

namespace {

using namespace fhirsync;
using namespace fhirsync::server;

constexpr std::string_view kUuid = "6fdab6f5-2cd2-4207-b8bb-c2884d6179f6";

rapidjson::Document ParseObject(const std::string& text, std::string_view what) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  FUZZ_CHECK(!doc.HasParseError() && doc.IsObject(),
             std::string(what) + " is not a JSON object: " + text);
  return doc;
}

void CheckServerJson(std::string_view body) {
  rapidjson::Document posted;
  if (!ParseRestBody(body, &posted).ok()) return;
  rapidjson::Document copy;
  copy.CopyFrom(posted, copy.GetAllocator());
  const std::string stored = StoredRestBody(posted, kUuid);
  rapidjson::Document stored_doc = ParseObject(stored, "the stored body");
  FUZZ_CHECK(stored_doc.HasMember("uuid") && stored_doc["uuid"].IsString() &&
                 stored_doc["uuid"].GetString() == kUuid,
             "the stored body's uuid: " + stored);
  FUZZ_CHECK(!stored_doc.HasMember("links") && !stored_doc.HasMember("resourceVersion"),
             "the stored body keeps a representation-only member: " + stored);
  const std::string merged = MergedRestBody(stored_doc, copy, kUuid);
  (void)ParseObject(merged, "the merged body");

  Resource resource;
  resource.type = "patient";
  resource.id = kUuid;
  resource.version = 2;
  resource.last_updated_ms = 1767225600000;
  resource.format = ResourceFormat::kOpenmrsRest;
  resource.body = stored;
  for (RestRepresentation r :
       {RestRepresentation::kRef, RestRepresentation::kDefault, RestRepresentation::kFull}) {
    (void)ParseObject(RestRepresentationBody(resource, r, "http://n/ws/rest/v1/patient/x", 0),
                      "a representation");
  }
}

void CheckServerHandlers(std::uint8_t selector, std::string_view body) {
  static ServerContext* context = [] {
    auto* c = new ServerContext;
    c->store = &fuzz::FuzzStore();
    c->node_id = "fuzz-node";
    return c;
  }();
  HttpRequest request;
  request.method = "POST";
  // A create, or an update of one of a few uuids, so updates meet earlier
  // versions; chosen by the body's size so that a seed is a plain body.
  request.segments = {"ws", "rest", "v1", selector % 2 ? "patient" : "location"};
  if (selector % 4 >= 2) request.segments.push_back("uuid-" + std::to_string(selector % 8));
  request.base_url = "http://parent.example";
  request.body.assign(body);
  HttpResponse response = Dispatch(*context, request);
  FUZZ_CHECK(response.status != 500, "a 500 answer: " + response.Body());
  (void)ParseObject(response.Body(), "the answer");
}

void CheckClientWire(std::string_view body) {
  const std::string message = rest::ErrorMessage(body);
  FUZZ_CHECK(message.size() <= 2000, "an error message of " + std::to_string(message.size()));
  (void)rest::AuditLastUpdatedMs(body);
  (void)rest::ParseOpenmrsDate(body);
  if (rest::CheckJsonObject(body).ok()) {
    auto with_uuid = rest::BodyWithUuid(body, kUuid);
    if (with_uuid.ok()) (void)ParseObject(*with_uuid, "BodyWithUuid's body");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckClientWire(body);
  // The server reaches these only after the HTTP adapter's depth guard.
  if (!fhirsync::CheckJsonDepth(body).ok()) return 0;
  CheckServerJson(body);
  CheckServerHandlers(static_cast<std::uint8_t>(size), body);
  return 0;
}
