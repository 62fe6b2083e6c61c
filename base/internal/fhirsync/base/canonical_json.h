// Canonical JSON and the content hash built on it (internal header: it shows
// RapidJSON types).
//
// Two nodes hold "the same content" when their bodies mean the same JSON,
// however each one spelt it: a FHIR server re-serialises what it stores
// (member order, spacing, escapes, `1.0` for `1`), so a hash of the text
// would see a change where there is none. The canonical form follows RFC
// 8785 (JSON Canonicalization Scheme): object members sorted by the UTF-16
// code units of their names, no insignificant white space, strings with only
// the escapes JSON requires, numbers in ECMAScript's shortest form. The
// content hash is the SHA-256 (lower-case hex) of that form. See
// docs/architecture.md, "The content hash".
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_BASE_CANONICAL_JSON_H_
#define FHIRSYNC_BASE_CANONICAL_JSON_H_

#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "fhirsync/resource.h"

namespace fhirsync {

// Appends the canonical form of `value` to `out`. Recurses once per level:
// callers pass documents whose depth was checked (CheckJsonText()).
void AppendCanonicalJson(const rapidjson::Value& value, std::string& out);

// The canonical form of `value`.
std::string CanonicalJson(const rapidjson::Value& value);

// The content hash of a FHIR resource (a JSON object): its canonical form
// without the members a server stamps on its own, `meta.versionId`,
// `meta.lastUpdated` and `meta.source` (and `meta` itself when nothing else
// is in it). The rest of `meta` (profile, security labels, tags) is content:
// a changed security label must be seen as a change.
std::string FhirContentHash(const rapidjson::Value& resource);

// FhirContentHash() of a FHIR JSON text, or, for a text that is not a JSON
// object within the depth limit, SHA-256 of the text as it is.
std::string FhirContentHashOfText(std::string_view text);

// The content hash of a stored or received body of either format: FHIR JSON
// as above; a body of another format (OpenMRS REST JSON) by the canonical
// form of the whole document when it is JSON, else SHA-256 of its bytes.
// Every hash that is stored, compared or sent in a digest comes from here.
std::string ContentHashOf(ResourceFormat format, std::string_view body);

}  // namespace fhirsync

#endif  // FHIRSYNC_BASE_CANONICAL_JSON_H_
