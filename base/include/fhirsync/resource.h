// Resource: one version of one record held by a node, and the checks every
// body passes before it reaches a store.
//
// A Resource is a plain value. `body` is the JSON text exactly as it is
// stored and served: for FHIR resources the store stamps `id`,
// `meta.versionId` and `meta.lastUpdated` into it, so a server can send the
// bytes without re-serialising them. `content_hash` is the SHA-256 (hex) of
// the body with `meta.versionId` and `meta.lastUpdated` removed, so it is the
// same on every node that holds the same content, whatever the local version
// numbers are (architecture §4).
//
// Thread safety: values; the free functions are thread-safe.

#ifndef FHIRSYNC_RESOURCE_H_
#define FHIRSYNC_RESOURCE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhirsync/resource_format.h"
#include "fhirsync/status.h"

namespace fhirsync {

// ResourceFormat and ChangeAction are in resource_format.h (plugin_api).
std::string_view ResourceFormatName(ResourceFormat format);  // "fhir+json", "openmrs-rest"
StatusOr<ResourceFormat> ParseResourceFormat(std::string_view name);

// 16 MiB, the default cap on a body (`store.max_body_bytes`).
inline constexpr std::size_t kDefaultMaxBodyBytes = 16u * 1024u * 1024u;

struct Resource {
  std::string type;            // "Patient"
  std::string id;              // "123"; FHIR id rule for FHIR JSON
  std::int64_t version = 0;    // this node's version, 1-based; 0 = not stored
  std::int64_t last_updated_ms = 0;  // Unix epoch milliseconds, UTC
  bool deleted = false;        // a tombstone: body is empty
  ResourceFormat format = ResourceFormat::kFhirJson;
  std::string content_hash;    // hex SHA-256, see above; empty if unknown
  std::string body;            // JSON text

  // "Patient/123"
  std::string Key() const { return type + "/" + id; }
};

// FHIR's id rule: [A-Za-z0-9\-\.]{1,64}. Returns InvalidArgument naming the
// offending id (truncated and escaped if it is hostile).
Status ValidateId(std::string_view id);

// A FHIR resource type name: an upper-case letter, then letters/digits, at
// most 64 characters ("Patient", "MedicationRequest"). For OpenMRS REST
// resource names (lower case, e.g. "visittype") use ValidateRestResourceName.
Status ValidateResourceType(std::string_view type);
Status ValidateRestResourceName(std::string_view name);

// The format a resource type name implies: kFhirJson for a FHIR type
// ("Patient"), kOpenmrsRest for an OpenMRS REST name ("visittype"), nullopt
// for anything else.
std::optional<ResourceFormat> FormatOfType(std::string_view type);

// What a parsed FHIR body says about itself.
struct ParsedBodyInfo {
  std::string resource_type;
  std::string id;  // empty when the body has none
};

// Checks a FHIR JSON body: size within `max_body_bytes`, parses as JSON, is
// an object, has a string `resourceType` that passes ValidateResourceType,
// and if it has an `id`, that it is a string passing ValidateId. Every error
// is InvalidArgument (ResourceExhausted for size) with a message naming the
// problem, e.g. "body is not valid JSON: Missing a comma or '}' after an
// object member (at byte 17)".
StatusOr<ParsedBodyInfo> InspectFhirBody(std::string_view body,
                                         std::size_t max_body_bytes = kDefaultMaxBodyBytes);

// Milliseconds since the Unix epoch, now.
std::int64_t NowMillis();
// "2026-11-22T10:15:30.123Z"
std::string FormatInstant(std::int64_t epoch_ms);
// Accepts FHIR instant/dateTime/date forms ("2026-11-22", "2026-11-22T10:15",
// "2026-11-22T10:15:30.5+02:00", ...). Missing parts are the start of the
// period. InvalidArgument naming the text when it does not parse.
StatusOr<std::int64_t> ParseInstant(std::string_view text);

}  // namespace fhirsync

#endif  // FHIRSYNC_RESOURCE_H_
