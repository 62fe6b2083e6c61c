#include "server/search_params.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "fhirsync/base/instant.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync::server {

namespace {

Status ApplyLastUpdated(const std::string& value, SearchQuery* query) {
  std::string prefix = "eq";
  std::string text = value;
  if (text.size() >= 2 && std::isalpha(static_cast<unsigned char>(text[0])) &&
      std::isalpha(static_cast<unsigned char>(text[1]))) {
    prefix = text.substr(0, 2);
    text = text.substr(2);
  }
  auto range = InstantRange(text);
  if (!range.ok()) return range.status().WithContext("_lastUpdated");
  auto [start, end] = *range;
  auto raise_from = [&](std::int64_t v) {
    query->updated_from_ms = query->updated_from_ms ? std::max(*query->updated_from_ms, v) : v;
  };
  auto lower_to = [&](std::int64_t v) {
    query->updated_to_ms = query->updated_to_ms ? std::min(*query->updated_to_ms, v) : v;
  };
  if (prefix == "eq") {
    raise_from(start);
    lower_to(end);
  } else if (prefix == "ge") {
    raise_from(start);
  } else if (prefix == "gt") {
    raise_from(end);
  } else if (prefix == "le") {
    lower_to(end);
  } else if (prefix == "lt") {
    lower_to(start);
  } else {
    return InvalidArgumentError("_lastUpdated: prefix '" + EscapeForMessage(prefix) +
                                "' is not supported (use eq, ge, gt, le, lt)");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::pair<std::int64_t, std::int64_t>> InstantRange(const std::string& text) {
  FHIRSYNC_ASSIGN_OR_RETURN(ParsedInstant start, ParseInstantText(text));
  return std::make_pair(start.epoch_ms, PeriodEndMs(start));
}

StatusOr<std::int64_t> ParseNonNegative(const std::string& name, const std::string& value) {
  std::int64_t n = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (error != std::errc() || end != value.data() + value.size() || value.empty() || n < 0) {
    return InvalidArgumentError(name + " '" + EscapeForMessage(value) +
                                "' is not a non-negative integer");
  }
  return n;
}

StatusOr<std::int64_t> ParseCount(const std::string* value) {
  if (value == nullptr) return kDefaultPageSize;
  FHIRSYNC_ASSIGN_OR_RETURN(std::int64_t n, ParseNonNegative("_count", *value));
  if (n > kMaxPageSize) {
    return InvalidArgumentError("_count " + *value + " is over the maximum of " +
                                std::to_string(kMaxPageSize));
  }
  return n;
}

StatusOr<SearchQuery> ParseSearchParams(
    const std::string& type, const std::vector<std::pair<std::string, std::string>>& params) {
  SearchQuery query;
  query.type = type;
  query.limit = kDefaultPageSize;
  for (const auto& [name, value] : params) {
    if (name == "_id") {
      for (std::string& id : SplitList(value)) {
        FHIRSYNC_RETURN_IF_ERROR(ValidateId(id).WithContext("_id"));
        query.ids.push_back(std::move(id));
      }
      if (query.ids.empty()) return InvalidArgumentError("_id is empty");
    } else if (name == "_lastUpdated") {
      FHIRSYNC_RETURN_IF_ERROR(ApplyLastUpdated(value, &query));
    } else if (name == "_count") {
      FHIRSYNC_ASSIGN_OR_RETURN(query.limit, ParseCount(&value));
    } else if (name == "_offset") {
      FHIRSYNC_ASSIGN_OR_RETURN(query.offset, ParseNonNegative("_offset", value));
    } else if (name == "_format") {
      if (value != "json" && value != "application/fhir+json" &&
          value != "application/json") {
        return InvalidArgumentError("_format '" + EscapeForMessage(value) +
                                    "' is not supported (only json)");
      }
    } else {
      return InvalidArgumentError("search parameter '" + EscapeForMessage(name) +
                                  "' is not supported (supported: _id, _lastUpdated, _count, "
                                  "_offset)");
    }
  }
  return query;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  try {
    for (const std::string& part : SplitList(text, '&')) {
      std::size_t eq = part.find('=');
      std::string name;
      std::string value;
      Poco::URI::decode(part.substr(0, eq), name, true);
      if (eq != std::string::npos) Poco::URI::decode(part.substr(eq + 1), value, true);
      out.emplace_back(std::move(name), std::move(value));
    }
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("malformed query '" + EscapeForMessage(text) +
                                "': " + EscapeForMessage(e.displayText()));
  }
  return out;
}

}  // namespace fhirsync::server
