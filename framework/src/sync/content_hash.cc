#include "sync/content_hash.h"

#include "fhirsync/base/fhir_json.h"

namespace fhirsync::sync {

std::string ContentHashOf(ResourceFormat format, const std::string& body) {
  if (format != ResourceFormat::kFhirJson) return HashOpaqueBody(body);
  StatusOr<FhirDocument> doc = ParseFhirBody(body, body.size() + 1);
  if (!doc.ok()) return HashOpaqueBody(body);
  // The version and time stamped here are left out of the hash.
  return StampFhirBody(*doc, doc->id, 1, 0).content_hash;
}

}  // namespace fhirsync::sync
