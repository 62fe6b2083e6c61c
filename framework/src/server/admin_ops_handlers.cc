#include "server/admin_ops_handlers.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "fhirsync/base/text_util.h"
#include "fhirsync/sync_observer.h"
#include "fhirsync/sync_status.h"
#include "server/embedded_files.h"
#include "server/operation_outcome.h"

namespace fhirsync::server {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Str(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

HttpResponse Json(const rapidjson::StringBuffer& buffer) {
  HttpResponse response;
  response.content_type = kJson;
  response.body.assign(buffer.GetString(), buffer.GetSize());
  response.SetHeader("Cache-Control", "no-store");
  return response;
}

HttpResponse NotAllowed(const char* allow) {
  HttpResponse response = ErrorResponse(
      405, "not-supported", std::string("method not allowed here (allowed: ") + allow + ")");
  response.SetHeader("Allow", allow);
  return response;
}

// A whole number in [0, max] from the query, or the default.
std::optional<std::int64_t> Bounded(const HttpRequest& request, std::string_view name,
                                    std::int64_t fallback, std::int64_t max) {
  const std::string* text = request.Query(name);
  if (text == nullptr) return fallback;
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < 0 || value > max) {
    return std::nullopt;
  }
  return value;
}

HttpResponse NodeStatus(ServerContext& context, const HttpRequest& request) {
  std::optional<std::int64_t> timeout = Bounded(request, "timeout", 2, 30);
  if (!timeout) {
    return ErrorResponse(400, "invalid", "timeout must be whole seconds from 0 to 30");
  }
  ObserveOptions options;
  options.node_dir = context.node_dir.empty() ? "." : context.node_dir;
  options.timeout_ms = static_cast<int>(*timeout * 1000);
  StatusOr<SyncObservations> observed =
      ObserveSync(context.store, context.node_config, options);
  if (!observed.ok()) return ErrorResponse(observed.status());
  const SyncStatusReport report = BuildSyncStatus(*observed);
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Str(w, "node_id", context.node_id);
  w.Key("is_child");
  w.Bool(report.has_parent);
  w.Key("in_sync");
  w.Bool(report.in_sync);
  w.Key("lines");
  w.StartArray();
  for (const std::string& line : report.lines) {
    w.String(line.data(), static_cast<rapidjson::SizeType>(line.size()));
  }
  w.EndArray();
  w.Key("problems");
  w.StartArray();
  for (const SyncProblem& p : report.problems) {
    w.StartObject();
    Str(w, "code", p.code);
    Str(w, "words", p.words);
    Str(w, "command", p.command);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Json(buffer);
}

HttpResponse Children(ServerContext& context, const HttpRequest& request) {
  std::optional<std::int64_t> minutes = Bounded(request, "minutes", 60, 60 * 24 * 366);
  if (!minutes) return ErrorResponse(400, "invalid", "minutes must be a whole number of minutes");
  StatusOr<std::int64_t> last_seq = context.store->LastSeq();
  if (!last_seq.ok()) return ErrorResponse(last_seq.status());
  const std::int64_t now = NowMs();
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("last_seq");
  w.Int64(*last_seq);
  w.Key("feed_page_size");
  w.Int64(context.config.feed_page_size);
  w.Key("children");
  w.StartArray();
  for (const ChildSeen& child : context.children.Since(now - *minutes * 60'000)) {
    w.StartObject();
    Str(w, "node_id", child.node_id);
    Str(w, "name", child.name);
    w.Key("last_contact_ms");
    w.Int64(child.last_contact_ms);
    w.Key("requests");
    w.Int64(child.requests);
    w.Key("at_head");
    w.Bool(child.at_head);
    w.Key("feed_position");
    if (child.feed_position) {
      w.Int64(*child.feed_position);
    } else {
      w.Null();
    }
    // Changes the child had not read at its last feed read (a lower bound
    // for a child still paging through archive pages); null: unknown.
    w.Key("behind");
    if (child.at_head) {
      w.Int64(0);
    } else if (child.feed_position) {
      w.Int64(std::max<std::int64_t>(0, *last_seq - *child.feed_position));
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Json(buffer);
}

HttpResponse SyncNow(ServerContext& context, const std::string& side) {
  if (side != "pull" && side != "push") {
    return ErrorResponse(404, "not-found", "no side '" + EscapeForMessage(side) + "' (pull or push)");
  }
  if (!context.sync_now) {
    return ErrorResponse(501, "not-supported",
                         "this server does not run pulls or pushes (its host gave no sync_now)");
  }
  StatusOr<std::string> done = context.sync_now(side);
  if (!done.ok()) return ErrorResponse(done.status());
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Str(w, "side", side);
  Str(w, "message", *done);
  w.EndObject();
  return Json(buffer);
}

std::string_view ContentType(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  return "application/octet-stream";
}

HttpResponse UiFile(const HttpRequest& request) {
  const auto& s = request.segments;
  if (s.size() > 3) return ErrorResponse(404, "not-found", "the admin page has no sub-folders");
  const std::string_view name = s.size() == 2 ? std::string_view("index.html") : s[2];
  for (const EmbeddedFile& file : AdminUiFiles()) {
    if (file.name != name) continue;
    HttpResponse response;
    response.content_type = std::string(ContentType(name));
    response.body.assign(file.content);
    // The page runs only its own script and talks only to this server.
    response.SetHeader("Content-Security-Policy",
                       "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    response.SetHeader("X-Content-Type-Options", "nosniff");
    response.SetHeader("Referrer-Policy", "no-referrer");
    response.SetHeader("Cache-Control", "no-cache");
    return response;
  }
  return ErrorResponse(404, "not-found",
                       "the admin page has no file '" + EscapeForMessage(name) + "'");
}

// A browser that holds the admin's Basic credentials sends them along with
// another site's form post or script too (cross-site request forgery). Such
// a request says where it comes from: Sec-Fetch-Site, or an Origin naming
// another host than the one it was sent to. Tools that send neither (curl,
// the CLI, a host's own code) are not affected.
std::optional<HttpResponse> RefuseCrossSite(const HttpRequest& request) {
  if (request.method == "GET" || request.method == "HEAD") return std::nullopt;
  const std::string* site = request.Header("Sec-Fetch-Site");
  bool foreign = site != nullptr && (*site == "cross-site" || *site == "same-site");
  const std::string* origin = request.Header("Origin");
  const std::string* host = request.Header("Host");
  if (origin != nullptr) {
    const std::size_t scheme = origin->find("://");
    const std::string origin_host =
        scheme == std::string::npos ? *origin : origin->substr(scheme + 3);
    foreign = foreign || host == nullptr || !EqualsIgnoreCase(origin_host, *host);
  }
  if (!foreign) return std::nullopt;
  return ErrorResponse(403, "forbidden",
                       "the admin API takes actions only from its own page, not from another "
                       "site (Origin: " + EscapeForMessage(origin != nullptr ? *origin : "none") +
                           ")");
}

}  // namespace

std::optional<HttpResponse> DispatchAdminOps(ServerContext& context, const HttpRequest& request) {
  if (std::optional<HttpResponse> refused = RefuseCrossSite(request)) return refused;
  const auto& s = request.segments;
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  if (s.size() >= 2 && s[1] == "ui") return get ? UiFile(request) : NotAllowed("GET");
  if (s.size() == 2 && s[1] == "status") return get ? NodeStatus(context, request) : NotAllowed("GET");
  if (s.size() == 2 && s[1] == "children") {
    return get ? Children(context, request) : NotAllowed("GET");
  }
  if (s.size() == 3 && s[1] == "sync") return post ? SyncNow(context, s[2]) : NotAllowed("POST");
  return std::nullopt;
}

}  // namespace fhirsync::server
