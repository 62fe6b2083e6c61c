// Parsing and stamping FHIR JSON bodies with RapidJSON (internal header).
//
// The store keeps a FHIR body exactly as it will be served: `id`,
// `meta.versionId` and `meta.lastUpdated` are stamped in at write time.
// The content hash leaves the two meta fields out so that nodes holding the
// same content agree on the hash whatever their local version numbers.

#ifndef FHIRSYNC_CORE_FHIR_JSON_H_
#define FHIRSYNC_CORE_FHIR_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "fhirsync/status.h"

namespace fhirsync {

struct FhirDocument {
  rapidjson::Document json;
  std::string resource_type;
  std::string id;  // empty when the body has none
};

// Size check, parse, object check, resourceType and id checks; see
// InspectFhirBody() in fhirsync/resource.h for the errors.
StatusOr<FhirDocument> ParseFhirBody(std::string_view body, std::size_t max_body_bytes);

// The result of stamping a body for storage.
struct StampedBody {
  std::string body;          // with id, meta.versionId, meta.lastUpdated
  std::string content_hash;  // SHA-256 hex of the body without the two meta fields
};

// Sets `id`, removes any incoming meta.versionId/lastUpdated, hashes, then
// stamps this node's version and time. Modifies `doc`.
StampedBody StampFhirBody(FhirDocument& doc, std::string_view id, std::int64_t version,
                          std::int64_t last_updated_ms);

// SHA-256 hex over a non-FHIR JSON body as given (OpenMRS REST bodies are
// stored verbatim).
std::string HashOpaqueBody(std::string_view body);

// Serialises any RapidJSON value compactly.
std::string WriteJson(const rapidjson::Value& value);

}  // namespace fhirsync

#endif  // FHIRSYNC_CORE_FHIR_JSON_H_
