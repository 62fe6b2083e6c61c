#include "server/admin_handlers.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>

#include "fhirsync/base/text_util.h"
#include "fhirsync/push_operations.h"
#include "server/admin_ops_handlers.h"
#include "server/operation_outcome.h"

namespace fhirsync::server {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
void Int(Writer& w, const char* key, std::int64_t value) {
  w.Key(key);
  w.Int64(value);
}
// A stored body embedded as JSON (null when empty).
void Body(Writer& w, const char* key, const std::string& body) {
  w.Key(key);
  if (body.empty()) {
    w.Null();
  } else {
    w.RawValue(body.data(), body.size(), rapidjson::kObjectType);
  }
}

HttpResponse Json(const rapidjson::StringBuffer& buffer, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.content_type = kJson;
  response.body.assign(buffer.GetString(), buffer.GetSize());
  return response;
}

std::optional<std::int64_t> Number(const std::string& text) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

bool Flag(const HttpRequest& request, std::string_view name) {
  const std::string* value = request.Query(name);
  return value != nullptr && (*value == "true" || *value == "1");
}

void OutboxItemJson(Writer& w, const OutboxItem& item) {
  w.StartObject();
  Int(w, "seq", item.seq);
  Str(w, "type", item.type);
  Str(w, "id", item.id);
  Int(w, "version", item.version);
  Str(w, "action", std::string(ChangeActionName(item.action)));
  Str(w, "state", item.state);
  Str(w, "class", item.outcome);
  Int(w, "http_status", item.last_http_status);
  Str(w, "message", item.message);
  Int(w, "attempts", item.attempts);
  Int(w, "next_attempt_ms", item.next_attempt_ms);
  Str(w, "correlation_id", item.correlation_id);
  w.EndObject();
}

void ConflictJson(Writer& w, const ConflictRecord& c, bool bodies) {
  w.StartObject();
  Int(w, "conflict_id", c.conflict_id);
  Str(w, "type", c.type);
  Str(w, "id", c.id);
  Str(w, "status", c.status);
  Int(w, "outbox_seq", c.outbox_seq);
  Int(w, "base_version", c.base_version);
  Int(w, "local_version", c.local_version);
  Str(w, "remote_version", c.remote_version);
  Int(w, "created_ms", c.created_ms);
  Int(w, "resolved_ms", c.resolved_ms);
  if (bodies) {
    Body(w, "base", c.base_body);
    Body(w, "local", c.local_body);
    Body(w, "server", c.remote_body);
  }
  w.EndObject();
}

HttpResponse ActionJson(const OperatorActionResult& result) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("requeued");
  w.StartArray();
  for (std::int64_t seq : result.requeued) w.Int64(seq);
  w.EndArray();
  w.Key("discarded");
  w.StartArray();
  for (std::int64_t seq : result.discarded) w.Int64(seq);
  w.EndArray();
  Int(w, "local_version", result.local_version);
  Str(w, "message", result.message);
  w.EndObject();
  return Json(buffer);
}

PushOperations Ops(ServerContext& context) {
  return PushOperations(context.store, context.push_routes, context.parent_node_id);
}

HttpResponse Outbox(ServerContext& context, const HttpRequest& request) {
  OutboxQuery query;
  if (!Flag(request, "all")) query.states = {kOutboxPending, kOutboxDead};
  query.limit = 100000;
  StatusOr<std::vector<OutboxItem>> items = context.store->ListOutbox(query);
  if (!items.ok()) return ErrorResponse(items.status());
  StatusOr<std::string> pause = context.store->PushPause();
  if (!pause.ok()) return ErrorResponse(pause.status());
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("paused");
  w.Bool(!pause->empty());
  Str(w, "pause_message", *pause);
  w.Key("items");
  w.StartArray();
  for (const OutboxItem& item : *items) OutboxItemJson(w, item);
  w.EndArray();
  w.EndObject();
  return Json(buffer);
}

HttpResponse Conflicts(ServerContext& context, const HttpRequest& request) {
  const std::string* status = request.Query("status");
  std::string wanted = status == nullptr ? kConflictOpen : *status == "all" ? "" : *status;
  StatusOr<std::vector<ConflictRecord>> list = context.store->ListConflicts(wanted, 100000);
  if (!list.ok()) return ErrorResponse(list.status());
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const ConflictRecord& c : *list) ConflictJson(w, c, false);
  w.EndArray();
  return Json(buffer);
}

HttpResponse Resolve(ServerContext& context, const HttpRequest& request, std::int64_t id) {
  rapidjson::Document doc;
  doc.Parse(request.body.data(), request.body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("take") ||
      !doc["take"].IsString()) {
    return ErrorResponse(400, "invalid",
                         "the body must be {\"take\":\"local\"|\"server\"} or "
                         "{\"take\":\"body\",\"resource\":{...}}");
  }
  std::string take = doc["take"].GetString();
  ConflictChoice choice;
  std::string body;
  if (take == "local") {
    choice = ConflictChoice::kLocal;
  } else if (take == "server") {
    choice = ConflictChoice::kServer;
  } else if (take == "body" && doc.HasMember("resource") && doc["resource"].IsObject()) {
    choice = ConflictChoice::kBody;
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    doc["resource"].Accept(w);
    body.assign(buffer.GetString(), buffer.GetSize());
  } else {
    return ErrorResponse(400, "invalid",
                         "take '" + EscapeForMessage(take) +
                             "' is not local, server or body (with a resource)");
  }
  StatusOr<OperatorActionResult> done = Ops(context).Resolve(id, choice, body, "admin API");
  if (!done.ok()) return ErrorResponse(done.status());
  return ActionJson(*done);
}

HttpResponse Audit(ServerContext& context, const HttpRequest& request) {
  AuditQuery query;
  if (const std::string* since = request.Query("since")) {
    StatusOr<std::int64_t> ms = ParseInstant(*since);
    if (!ms.ok()) return ErrorResponse(400, "invalid", "since: " + ms.status().message());
    query.since_ms = *ms;
  }
  if (const std::string* status = request.Query("status")) query.outcome = *status;
  if (const std::string* operation = request.Query("operation")) query.operation = *operation;
  if (const std::string* limit = request.Query("limit")) {
    std::optional<std::int64_t> n = Number(*limit);
    if (!n) return ErrorResponse(400, "invalid", "limit must be a positive number");
    query.limit = *n;
  }
  StatusOr<std::vector<AuditRecord>> rows = context.store->QueryAudit(query);
  if (!rows.ok()) return ErrorResponse(rows.status());
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  for (const AuditRecord& row : *rows) {
    w.StartObject();
    Int(w, "audit_id", row.audit_id);
    Int(w, "at_ms", row.at_ms);
    Str(w, "operation", row.operation);
    Str(w, "type", row.type);
    Str(w, "id", row.id);
    Int(w, "local_version", row.local_version);
    Str(w, "remote_version", row.remote_version);
    Str(w, "transport", row.transport);
    Str(w, "outcome", row.outcome);
    Int(w, "http_status", row.http_status);
    Str(w, "message", row.message);
    Int(w, "retry_of", row.retry_of);
    Str(w, "correlation_id", row.correlation_id);
    w.EndObject();
  }
  w.EndArray();
  return Json(buffer);
}

HttpResponse Resubmit(ServerContext& context, const HttpRequest& request) {
  const std::string* from = request.Query("from");
  const std::string* to = request.Query("to");
  if (from == nullptr || to == nullptr) {
    return ErrorResponse(400, "required", "resubmit needs ?from=DATE&to=DATE");
  }
  StatusOr<std::int64_t> from_ms = ParseInstant(*from);
  StatusOr<std::int64_t> to_ms = ParseInstant(*to);
  if (!from_ms.ok() || !to_ms.ok()) {
    return ErrorResponse(400, "invalid", "from/to must be dates or instants");
  }
  StatusOr<ResubmitReport> report = Ops(context).Resubmit(*from_ms, *to_ms, "admin API");
  if (!report.ok()) return ErrorResponse(report.status());
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Int(w, "checked", report->checked);
  Int(w, "same", report->same);
  Int(w, "requeued", report->requeued);
  w.Key("not_local");
  w.StartArray();
  for (const std::string& key : report->not_local) {
    w.String(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  }
  w.EndArray();
  w.EndObject();
  return Json(buffer);
}

HttpResponse NotAllowed(const char* allow) {
  HttpResponse response = ErrorResponse(405, "not-supported",
                                        std::string("method not allowed here (allowed: ") +
                                            allow + ")");
  response.SetHeader("Allow", allow);
  return response;
}

}  // namespace

HttpResponse DispatchAdmin(ServerContext& context, const HttpRequest& request) {
  if (std::optional<HttpResponse> ops = DispatchAdminOps(context, request)) return *ops;
  const auto& s = request.segments;
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  if (s.size() == 2 && s[1] == "outbox") return get ? Outbox(context, request) : NotAllowed("GET");
  if (s.size() == 2 && s[1] == "conflicts") {
    return get ? Conflicts(context, request) : NotAllowed("GET");
  }
  if (s.size() == 2 && s[1] == "audit") return get ? Audit(context, request) : NotAllowed("GET");
  if (s.size() == 2 && s[1] == "resubmit") {
    return post ? Resubmit(context, request) : NotAllowed("POST");
  }
  if (s.size() == 3 && s[1] == "outbox" && s[2] == "_retry-all") {
    if (!post) return NotAllowed("POST");
    StatusOr<OperatorActionResult> done = Ops(context).RetryAll(Flag(request, "force"), "admin API");
    return done.ok() ? ActionJson(*done) : ErrorResponse(done.status());
  }
  if (s.size() == 4 && s[1] == "outbox" && (s[3] == "retry" || s[3] == "discard")) {
    std::optional<std::int64_t> seq = Number(s[2]);
    if (!seq) return ErrorResponse(400, "invalid", "'" + EscapeForMessage(s[2]) + "' is not an outbox seq");
    if (!post) return NotAllowed("POST");
    StatusOr<OperatorActionResult> done =
        s[3] == "retry" ? Ops(context).Retry(*seq, Flag(request, "force"), "admin API")
                        : Ops(context).Discard(*seq, "admin API");
    return done.ok() ? ActionJson(*done) : ErrorResponse(done.status());
  }
  if ((s.size() == 3 || s.size() == 4) && s[1] == "conflicts") {
    std::optional<std::int64_t> id = Number(s[2]);
    if (!id) return ErrorResponse(400, "invalid", "'" + EscapeForMessage(s[2]) + "' is not a conflict id");
    if (s.size() == 3) {
      if (!get) return NotAllowed("GET");
      StatusOr<ConflictRecord> c = context.store->GetConflict(*id);
      if (!c.ok()) return ErrorResponse(c.status());
      rapidjson::StringBuffer buffer;
      Writer w(buffer);
      ConflictJson(w, *c, true);
      return Json(buffer);
    }
    if (s[3] == "resolve") return post ? Resolve(context, request, *id) : NotAllowed("POST");
  }
  std::string path;
  for (const std::string& segment : s) path += "/" + segment;
  return ErrorResponse(404, "not-found", "no endpoint at '" + EscapeForMessage(path) + "'");
}

}  // namespace fhirsync::server
