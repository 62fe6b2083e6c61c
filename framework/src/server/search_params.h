// Parsing of search parameters (internal): `_id`, `_lastUpdated`, `_count`,
// `_offset`. Shared by type search and conditional create (If-None-Exist).

#ifndef FHIRSYNC_SERVER_SEARCH_PARAMS_H_
#define FHIRSYNC_SERVER_SEARCH_PARAMS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fhirsync/local_store.h"
#include "fhirsync/status.h"

namespace fhirsync::server {

inline constexpr std::int64_t kDefaultPageSize = 50;
inline constexpr std::int64_t kMaxPageSize = 1000;

// Fills a SearchQuery for `type` from decoded parameters. Unknown
// parameters are refused (InvalidArgument naming them) rather than ignored,
// so a client never mistakes an unfiltered answer for a filtered one.
// `_format` (json only) is accepted and ignored.
StatusOr<SearchQuery> ParseSearchParams(
    const std::string& type, const std::vector<std::pair<std::string, std::string>>& params);

// `_count`: absent -> kDefaultPageSize; 0..kMaxPageSize else InvalidArgument.
StatusOr<std::int64_t> ParseCount(const std::string* value);

// A non-negative integer parameter, InvalidArgument naming `name`.
StatusOr<std::int64_t> ParseNonNegative(const std::string& name, const std::string& value);

// Splits "a=1&b=2" (If-None-Exist) into decoded pairs; InvalidArgument when
// the encoding is malformed.
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    const std::string& text);

// The [start, end) epoch-ms range a FHIR date/dateTime/instant text covers
// at its precision ("2026" is the whole year).
StatusOr<std::pair<std::int64_t, std::int64_t>> InstantRange(const std::string& text);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_SEARCH_PARAMS_H_
