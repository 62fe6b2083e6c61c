// JSON a hostile peer sends: resources nested far deeper than any FHIR
// resource, to prove that every reader checks the depth before it recurses.
// Header-only.

#ifndef FHIRSYNC_TESTS_SUPPORT_HOSTILE_JSON_H_
#define FHIRSYNC_TESTS_SUPPORT_HOSTILE_JSON_H_

#include <string>

namespace fhirsync::testing {

// `depth` levels of arrays: "[[[...]]]".
inline std::string NestedArrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

// A resource whose `extension` nests arrays so that the whole body is
// `depth` levels deep (the resource object is the first level).
inline std::string DeepResource(const std::string& type, const std::string& id, int depth,
                                const std::string& version = "1") {
  return R"({"resourceType":")" + type + R"(","id":")" + id + R"(","meta":{"versionId":")" +
         version + R"(","lastUpdated":"2026-11-22T10:00:00Z"},"extension":)" +
         NestedArrays(depth - 1) + "}";
}

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_HOSTILE_JSON_H_
