// GET /feed/recent and /feed/{n}: the node's change sequence as Atom pages
// in the OpenMRS/ICT4H atomfeed layout (architecture §6).
//
// Page n holds the changes with seq in ((n-1)*size, n*size]. The store
// assigns seqs densely and in commit order, so once a change with a seq past
// n*size exists, page n can never change again: it is an archive page,
// served with a strong ETag and `Cache-Control: immutable` and kept
// rendered in the FeedCache. Until then page n is the `recent` page
// (no-cache). An archive page links `next-archive` to n+1, which by then
// exists; `recent` and a page that is still filling have no next-archive.
//
// `?types=Patient,Encounter` keeps only those types' entries on each page
// (pages keep their numbers, so one may be empty), so a child never
// downloads what it does not want. The links carry the same filter.

#include <algorithm>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/base/text_util.h"
#include "fhirsync/feed/atom_page_writer.h"
#include "server/feed_position.h"
#include "server/fhir_ops.h"
#include "server/gzip.h"
#include "server/handlers.h"
#include "server/operation_outcome.h"

namespace fhirsync::server {

namespace {

// {"fhir": "/fhir/Patient/1/_history/2"}, or the OpenMRS REST URL for a
// resource held in REST representation.
std::string EntryContent(const Resource& resource) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  std::string url;
  if (resource.format == ResourceFormat::kOpenmrsRest) {
    w.Key("rest");
    url = "/ws/rest/v1/" + resource.type + "/" + resource.id + "?v=full";
  } else {
    w.Key("fhir");
    url = "/fhir/" + resource.Key() + "/_history/" + std::to_string(resource.version);
  }
  w.String(url.data(), static_cast<rapidjson::SizeType>(url.size()));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

HttpResponse HandleFeed(ServerContext& context, const HttpRequest& request, std::int64_t page) {
  std::set<std::string> types;
  for (const auto& [name, value] : request.query) {
    if (name != "types") {
      return ErrorResponse(400, "invalid",
                           "feed parameter '" + EscapeForMessage(name) +
                               "' is not supported (only types)");
    }
    for (std::string& type : SplitList(value)) {
      if (!ValidateResourceType(type).ok() && !ValidateRestResourceName(type).ok()) {
        return ErrorResponse(400, "invalid",
                             "types: '" + EscapeForMessage(type) + "' is not a resource type");
      }
      types.insert(std::move(type));
    }
  }
  const std::string types_query = FeedTypesQuery(types);

  const std::int64_t size = context.config.feed_page_size;
  const std::string key_prefix = request.base_url + "|" + types_query + "|";
  std::shared_ptr<const PreparedBody> prepared;
  bool archive = false;
  std::int64_t n = page;
  const bool is_recent = page == 0;
  // An archive page once rendered is served from the cache without asking
  // the store anything: it cannot have changed.
  if (!is_recent) prepared = context.feed_cache.Find(key_prefix + std::to_string(n));
  archive = prepared != nullptr;
  std::string cache_key;
  if (!prepared) {
    auto last_seq = context.store->LastSeq();
    if (!last_seq.ok()) return ErrorResponse(last_seq.status());
    const std::int64_t newest = FeedPageOf(*last_seq, size);
    if (is_recent) n = newest;
    if (n > newest) {
      return ErrorResponse(404, "not-found",
                           "feed page " + std::to_string(n) +
                               " does not exist yet (the newest is " + std::to_string(newest) +
                               ")");
    }
    archive = !is_recent && *last_seq > n * size;
    // A page still filling is cached under the last seq it was rendered at,
    // which is all its content depends on.
    cache_key = key_prefix + std::to_string(n) +
                (archive ? "" : (is_recent ? "|recent|" : "|") + std::to_string(*last_seq));
    prepared = context.feed_cache.Find(cache_key);
  }
  if (!prepared) {
    ChangeQuery query;
    query.after_seq = (n - 1) * size;
    query.limit = size;
    auto changes = context.store->Changes(query);
    if (!changes.ok()) return ErrorResponse(changes.status());
    if (archive && static_cast<std::int64_t>(changes->size()) != size) {
      // The store broke its dense-seq promise; refuse to freeze a page that
      // would then differ from a later render.
      return ErrorResponse(500, "exception",
                           "feed page " + std::to_string(n) + " has " +
                               std::to_string(changes->size()) + " changes, expected " +
                               std::to_string(size));
    }
    AtomFeedPage atom;
    atom.id = context.node_id + "+" + std::to_string(n);
    atom.title = "fhirsync changes of node " + context.node_id;
    atom.author = "fhirsync";
    atom.generator = "fhirsync";
    atom.generator_uri = "https://github.com/ICT4H/atomfeed";
    atom.updated = FormatInstant(changes->empty() ? NowMillis()
                                                  : changes->back().resource.last_updated_ms);
    atom.links.push_back(
        {"self", PageUrl(request.base_url, is_recent ? "recent" : std::to_string(n), types_query)});
    atom.links.push_back({"via", PageUrl(request.base_url, std::to_string(n), types_query)});
    atom.links.push_back({"first", PageUrl(request.base_url, "1", types_query)});
    if (n > 1) {
      atom.links.push_back(
          {"prev-archive", PageUrl(request.base_url, std::to_string(n - 1), types_query)});
    }
    if (archive) {
      atom.links.push_back(
          {"next-archive", PageUrl(request.base_url, std::to_string(n + 1), types_query)});
    }
    for (const Change& change : *changes) {
      const Resource& r = change.resource;
      if (!types.empty() && types.count(r.type) == 0) continue;
      AtomFeedEntry entry;
      entry.id = EntryId(context.node_id, change.seq);
      entry.title = r.type;
      entry.updated = FormatInstant(r.last_updated_ms);
      entry.categories = {r.type, std::string(ChangeActionName(change.action))};
      entry.content = EntryContent(r);
      atom.entries.push_back(std::move(entry));
    }
    auto xml = feed::WriteAtomPage(atom);
    if (!xml.ok()) return ErrorResponse(xml.status());
    auto body = std::make_shared<PreparedBody>();
    body->etag = "\"" + Sha256Hex(*xml).substr(0, 32) + "\"";
    body->plain = std::move(*xml);
    body->gzip = GzipCompress(body->plain);
    context.feed_cache.Insert(cache_key, body);
    prepared = std::move(body);
  }
  HttpResponse response;
  response.content_type = kAtomXml;
  response.SetHeader("ETag", prepared->etag);
  response.SetHeader("Cache-Control",
                     archive ? "public, max-age=31536000, immutable" : "no-cache");
  if (const std::string* match = request.Header("If-None-Match")) {
    if (*match == prepared->etag || *match == "*") {
      response.status = 304;
      return response;
    }
  }
  response.prepared = std::move(prepared);
  return response;
}

}  // namespace fhirsync::server
