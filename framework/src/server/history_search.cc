// _history at instance, type and system level.
//
// Type and system history follow the node's change sequence in ascending
// order (oldest first) and page with an opaque `_after=<seq>` cursor in the
// `next` link. FHIR suggests newest first, but a newest-first page shifts
// whenever something is written, so a child paging through it could miss or
// repeat changes; ascending by seq is stable and is what a syncing child
// needs. Deletes are included (request.method DELETE, no resource).
//
// Every page here, search pages too, stops short of _count when the next
// resource would take it past server.max_response_bytes (response_cap.h);
// its `next` link then goes on from the last entry it holds.

#include <algorithm>

#include "fhirsync/base/text_util.h"
#include "server/bundle_json.h"
#include "server/fhir_ops.h"
#include "server/handlers.h"
#include "server/operation_outcome.h"
#include "server/response_cap.h"
#include "server/search_params.h"

namespace fhirsync::server {

namespace {

void HistoryEntry(BundleWriter& bundle, const std::string& base_url, const Resource& resource,
                  ChangeAction action) {
  JsonWriter& w = bundle.json();
  w.StartObject();
  w.Key("fullUrl");
  WriteString(w, base_url + "/fhir/" + resource.Key());
  if (!resource.deleted && !resource.body.empty()) bundle.RawResource(resource.body);
  w.Key("request");
  w.StartObject();
  w.Key("method");
  w.String(resource.deleted ? "DELETE" : "PUT");
  w.Key("url");
  WriteString(w, resource.Key());
  w.EndObject();
  w.Key("response");
  w.StartObject();
  w.Key("status");
  WriteString(w, resource.deleted                     ? StatusLine(204)
                 : action == ChangeAction::kCreate ? StatusLine(201)
                                                   : StatusLine(200));
  w.Key("etag");
  WriteString(w, EtagFor(resource.version));
  w.Key("lastModified");
  WriteString(w, FormatInstant(resource.last_updated_ms));
  w.EndObject();
  w.EndObject();
}

HttpResponse BundleResponse(std::string body) {
  HttpResponse response;
  response.content_type = kFhirJson;
  response.body = std::move(body);
  return response;
}

}  // namespace

HttpResponse HandleInstanceHistory(ServerContext& context, const HttpRequest& request,
                                   const std::string& type, const std::string& id) {
  std::int64_t count = kDefaultPageSize;
  std::int64_t offset = 0;
  for (const auto& [name, value] : request.query) {
    StatusOr<std::int64_t> parsed = std::int64_t{0};
    if (name == "_count") {
      parsed = ParseCount(&value);
      if (parsed.ok()) count = *parsed;
    } else if (name == "_offset") {
      parsed = ParseNonNegative("_offset", value);
      if (parsed.ok()) offset = *parsed;
    } else {
      parsed = InvalidArgumentError("parameter '" + EscapeForMessage(name) +
                                    "' is not supported on instance history (_count, _offset)");
    }
    if (!parsed.ok()) return ErrorResponse(parsed.status());
  }
  auto versions = context.store->History(type, id);  // newest first
  if (!versions.ok()) return ErrorResponse(versions.status());
  const std::int64_t total = static_cast<std::int64_t>(versions->size());
  const std::string self = request.base_url + "/fhir/" + type + "/" + id + "/_history";
  const std::string self_url = UrlWithQuery(self, {{"_count", std::to_string(count)},
                                                   {"_offset", std::to_string(offset)}});
  const std::int64_t first = std::min(offset, total);
  const std::int64_t shown = static_cast<std::int64_t>(EntriesWithinCap(
      static_cast<std::size_t>(std::min(count, total - first)),
      [&](std::size_t i) { return (*versions)[static_cast<std::size_t>(first) + i].body.size(); },
      2 * self_url.size() + 256, context.config.max_response_bytes));
  BundleWriter bundle("history");
  bundle.Total(total);
  bundle.Link("self", self_url);
  if (first + shown < total) {
    bundle.Link("next", UrlWithQuery(self, {{"_count", std::to_string(count)},
                                            {"_offset", std::to_string(first + shown)}}));
  }
  bundle.BeginEntries();
  for (std::int64_t i = first; i < first + shown; ++i) {
    const Resource& version = (*versions)[static_cast<std::size_t>(i)];
    HistoryEntry(bundle, request.base_url, version,
                 version.version == 1 ? ChangeAction::kCreate : ChangeAction::kUpdate);
  }
  bundle.EndEntries();
  return BundleResponse(bundle.Finish());
}

HttpResponse HandleHistory(ServerContext& context, const HttpRequest& request,
                           const std::string& type) {
  ChangeQuery query;
  query.with_bodies = true;
  query.limit = kDefaultPageSize;
  if (!type.empty()) query.types.push_back(type);
  std::vector<std::pair<std::string, std::string>> kept;  // for the links
  for (const auto& [name, value] : request.query) {
    Status status;
    if (name == "_count") {
      auto count = ParseCount(&value);
      status = count.status();
      if (count.ok()) query.limit = *count;
    } else if (name == "_since") {
      auto since = ParseInstant(value);
      status = since.status().WithContext("_since");
      if (since.ok()) {
        query.since_ms = *since;
        kept.emplace_back(name, value);
      }
    } else if (name == "_after") {
      auto after = ParseNonNegative("_after", value);
      status = after.status();
      if (after.ok()) query.after_seq = *after;
    } else {
      status = InvalidArgumentError("parameter '" + EscapeForMessage(name) +
                                    "' is not supported on history (_since, _count, _after)");
    }
    if (!status.ok()) return ErrorResponse(status);
  }
  auto changes = context.store->Changes(query);
  if (!changes.ok()) return ErrorResponse(changes.status());

  const std::string self = request.base_url + (type.empty() ? "/fhir/_history"
                                                            : "/fhir/" + type + "/_history");
  auto link_params = [&](std::int64_t after) {
    auto params = kept;
    params.emplace_back("_count", std::to_string(query.limit));
    params.emplace_back("_after", std::to_string(after));
    return params;
  };
  const std::string self_url = UrlWithQuery(self, link_params(query.after_seq));
  const std::size_t shown = EntriesWithinCap(
      changes->size(), [&](std::size_t i) { return (*changes)[i].resource.body.size(); },
      2 * self_url.size() + 256, context.config.max_response_bytes);
  BundleWriter bundle("history");
  bundle.Link("self", self_url);
  // A full page may have more behind it, and so does one cut at the cap; a
  // short page is the end for now.
  if (shown < changes->size() ||
      (!changes->empty() && static_cast<std::int64_t>(changes->size()) == query.limit)) {
    bundle.Link("next", UrlWithQuery(self, link_params((*changes)[shown - 1].seq)));
  }
  bundle.BeginEntries();
  for (std::size_t i = 0; i < shown; ++i) {
    HistoryEntry(bundle, request.base_url, (*changes)[i].resource, (*changes)[i].action);
  }
  bundle.EndEntries();
  return BundleResponse(bundle.Finish());
}

HttpResponse HandleSearch(ServerContext& context, const HttpRequest& request,
                          const std::string& type) {
  auto query = ParseSearchParams(type, request.query);
  if (!query.ok()) return ErrorResponse(query.status());
  auto found = context.store->Search(*query);
  if (!found.ok()) return ErrorResponse(found.status());

  std::vector<std::pair<std::string, std::string>> kept;
  for (const auto& [name, value] : request.query) {
    if (name != "_count" && name != "_offset") kept.emplace_back(name, value);
  }
  auto link_params = [&](std::int64_t offset) {
    auto params = kept;
    params.emplace_back("_count", std::to_string(query->limit));
    params.emplace_back("_offset", std::to_string(offset));
    return params;
  };
  const std::string self = request.base_url + "/fhir/" + type;
  const std::string self_url = UrlWithQuery(self, link_params(query->offset));
  const std::size_t shown = EntriesWithinCap(
      found->resources.size(), [&](std::size_t i) { return found->resources[i].body.size(); },
      2 * self_url.size() + 256, context.config.max_response_bytes);
  const std::int64_t next = query->offset + static_cast<std::int64_t>(shown);
  BundleWriter bundle("searchset");
  bundle.Total(found->total);
  bundle.Link("self", self_url);
  if (next < found->total && shown > 0) bundle.Link("next", UrlWithQuery(self, link_params(next)));
  bundle.BeginEntries();
  for (std::size_t i = 0; i < shown; ++i) {
    const Resource& resource = found->resources[i];
    JsonWriter& w = bundle.json();
    w.StartObject();
    w.Key("fullUrl");
    WriteString(w, request.base_url + "/fhir/" + resource.Key());
    bundle.RawResource(resource.body);
    w.Key("search");
    w.StartObject();
    w.Key("mode");
    w.String("match");
    w.EndObject();
    w.EndObject();
  }
  bundle.EndEntries();
  return BundleResponse(bundle.Finish());
}

}  // namespace fhirsync::server
