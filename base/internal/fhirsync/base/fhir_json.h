// Parsing and stamping FHIR JSON bodies with RapidJSON (internal header).
//
// The store keeps a FHIR body exactly as it will be served: `id`,
// `meta.versionId` and `meta.lastUpdated` are stamped in at write time.
// The content hash leaves the two meta fields out so that nodes holding the
// same content agree on the hash whatever their local version numbers.

#ifndef FHIRSYNC_CORE_FHIR_JSON_H_
#define FHIRSYNC_CORE_FHIR_JSON_H_

#include <cstdint>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "fhirsync/status.h"

namespace fhirsync {

struct FhirDocument {
  // A copy of the body that the parse decoded in place (RapidJSON's in-situ
  // parse): the document's strings point into it, so no string is copied
  // into the document. Declared first so that it outlives `json`.
  std::unique_ptr<char[]> text;
  std::size_t text_size = 0;  // the body's size, a hint for serialising it
  rapidjson::Document json;
  std::string resource_type;
  std::string id;  // empty when the body has none
};

// `body` copied with NULs after it, for RapidJSON's in-situ parse (which
// decodes strings where they stand and stops at the NUL; its UTF-8
// validation may read up to three bytes past it, which are NULs too).
std::unique_ptr<char[]> InsituCopy(std::string_view body);

// InvalidArgument naming the number when `json` holds a zero written with
// an exponent ("0e140", "-0.00E5") outside strings: RapidJSON 1.1.0's
// full-precision parse, which every FHIR body goes through, turns it into
// another number (0e140 into 5.696189077778436e-306), so it is refused
// before any such parse.
Status CheckNoZeroWithExponent(std::string_view json);

// Size check, parse, object check, resourceType and id checks; see
// InspectFhirBody() in fhirsync/resource.h for the errors.
StatusOr<FhirDocument> ParseFhirBody(std::string_view body, std::size_t max_body_bytes);

// The result of stamping a body for storage.
struct StampedBody {
  std::string body;          // with id, meta.versionId, meta.lastUpdated
  std::string content_hash;  // FhirContentHash() of the body
};

// A FHIR body ready for storage except for its version stamp: the part of
// stamping that does not depend on the version, so a bulk write can do it
// (and free the parsed document) before it knows the version.
struct UnstampedBody {
  std::string text;          // with id, without meta.versionId/lastUpdated
  std::string content_hash;  // FhirContentHash() of `text`
  std::size_t stamp_at = 0;  // offset where the stamp is spliced in
  bool into_meta = false;    // true: into the existing meta; false: a new meta
};

// Sets `id` and removes any incoming meta.versionId/lastUpdated (modifies
// `doc`), serialises once and hashes.
UnstampedBody PrepareFhirBodyForStamp(FhirDocument& doc, std::string_view id);

// The text (without the stamp) and its content hash (FhirContentHash() in
// fhirsync/base/canonical_json.h), with where the stamp goes: before
// `meta_end` (meta's closing brace) if there is a meta (npos: none), else as
// a new meta before `object_end` (the body's closing brace).
UnstampedBody MakeUnstampedBody(std::string_view text, std::size_t meta_end,
                                std::size_t object_end, std::string content_hash);

// What ParseFhirBody() and PrepareFhirBodyForStamp() give together.
struct PreparedFhirBody {
  std::string resource_type;
  std::string id;  // the body's own id; empty when it has none
  UnstampedBody unstamped;  // with `stamp_id` as its id
};

// ParseFhirBody(body, max_body_bytes), then PrepareFhirBodyForStamp(doc,
// stamp_id): the same result and the same errors, in one pass without a
// document for the common shape of body (fhir_prepare.cc). `stamp_id` must
// be a valid id (ValidateId).
StatusOr<PreparedFhirBody> PrepareFhirBody(std::string_view body, std::string_view stamp_id,
                                           std::size_t max_body_bytes);

// The one pass alone: nullopt for a body it does not take (its shape is
// uncommon, or it has an error), which PrepareFhirBody() then hands to the
// document path. For tests.
std::optional<PreparedFhirBody> PrepareFhirBodyInOnePass(std::string_view body,
                                                         std::string_view stamp_id,
                                                         std::size_t max_body_bytes);

// The stored body: `body.text` with this node's version and time added to
// meta. Byte for byte what serialising the stamped document would give.
std::string ApplyStamp(const UnstampedBody& body, std::int64_t version,
                       std::int64_t last_updated_ms);
// The same with the time already formatted by FormatInstant(): a batch
// stamps every body with one time, and formatting it once per body cost as
// much as a tenth of a bulk import.
std::string ApplyStamp(const UnstampedBody& body, std::int64_t version,
                       std::string_view last_updated);

// The same into `out` (its old content replaced): a writer that stamps many
// bodies reuses one buffer instead of allocating one per body.
void ApplyStampTo(const UnstampedBody& body, std::int64_t version, std::string_view last_updated,
                  std::string& out);

// Both steps at once.
// Sets `id`, removes any incoming meta.versionId/lastUpdated, hashes, then
// stamps this node's version and time into the returned body. Modifies `doc`
// (id and meta); the stamp itself is only in the returned body.
StampedBody StampFhirBody(FhirDocument& doc, std::string_view id, std::int64_t version,
                          std::int64_t last_updated_ms);

// Serialises any RapidJSON value compactly.
std::string WriteJson(const rapidjson::Value& value);

}  // namespace fhirsync

#endif  // FHIRSYNC_CORE_FHIR_JSON_H_
