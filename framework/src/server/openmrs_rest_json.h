// The JSON of the node's OpenMRS REST facade (internal): representations of
// a stored resource (ref, default, full) and OpenMRS-style error bodies
// ({"error":{"message":..., "code":..., "detail":...}}), so that OpenMRS
// REST clients, fhirsync's own rest-client among them, read them as they
// read OpenMRS.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_SERVER_OPENMRS_REST_JSON_H_
#define FHIRSYNC_SERVER_OPENMRS_REST_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "fhirsync/resource.h"
#include "fhirsync/status.h"
#include "server/http_types.h"

namespace fhirsync::server {

inline constexpr char kRestJson[] = "application/json; charset=utf-8";

enum class RestRepresentation { kRef, kDefault, kFull };

// Parses the `v` parameter (null: default). InvalidArgument naming the
// value when it is not ref, default or full (custom representations are not
// supported).
StatusOr<RestRepresentation> ParseRestRepresentation(const std::string* value);

// An error response: {"error":{"message": message, "code": "<status>",
// "detail": ""}} with the given HTTP status.
HttpResponse RestErrorResponse(int http_status, std::string_view message);
// The same for a Status (HTTP status per HttpStatusFor; Aborted is a 412
// version conflict).
HttpResponse RestErrorResponse(const Status& status);

// Turns an OperationOutcome error response (from the shared request
// pipeline: authentication, limits) into the OpenMRS error form, keeping its
// status and headers. Other responses are returned unchanged.
HttpResponse AsRestError(HttpResponse response);

// Parses a request body that must be a JSON object; InvalidArgument naming
// the problem (e.g. "body is not valid JSON: ... (at byte 12)").
Status ParseRestBody(std::string_view body, rapidjson::Document* doc);

// The stored form of a posted object: its members without the
// representation-only ones (links, resourceVersion), with "uuid" = `uuid`.
std::string StoredRestBody(rapidjson::Document& doc, std::string_view uuid);

// `stored` (a stored object) updated with the members of `update` (OpenMRS
// updates the properties a POST names), in the stored form.
std::string MergedRestBody(rapidjson::Document& stored, const rapidjson::Value& update,
                           std::string_view uuid);

// What a GET returns for `resource` (held as openmrs-rest): the stored
// members (all but auditInfo in the default representation; uuid and display
// in ref), "links" to itself under `self_url`, and in the full
// representation an auditInfo made from the store's dates when the body has
// none. `created_ms` is when version 1 was written.
std::string RestRepresentationBody(const Resource& resource, RestRepresentation representation,
                                   const std::string& self_url, std::int64_t created_ms);

// "2026-11-22T10:15:30.123+0000": a date as OpenMRS writes it.
std::string OpenmrsDate(std::int64_t epoch_ms);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_OPENMRS_REST_JSON_H_
