#include "push_cli.h"

#include <iostream>

#include "fhirsync/base/text_util.h"
#include "fhirsync/credentials.h"

namespace fhirsync::cli {

Status RequireAdmin(const NodeConfig& config, const std::string& user, const char* action) {
  if (user.empty()) {
    return PermissionDeniedError(std::string(action) +
                                 " needs admin credentials: give --user NAME (an admin user of "
                                 "this node) and the password on stdin");
  }
  const UserConfig* found = nullptr;
  for (const UserConfig& candidate : config.server.users) {
    if (candidate.name == user) found = &candidate;
  }
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (found == nullptr || !CheckPassword(*found, password)) {
    return PermissionDeniedError(std::string(action) + ": user '" + EscapeForMessage(user) +
                                 "' is not known here or the password is wrong");
  }
  for (const std::string& role : found->roles) {
    if (role == "admin") return Status::Ok();
  }
  return PermissionDeniedError(std::string(action) + ": user '" + EscapeForMessage(user) +
                               "' does not have the admin role");
}

StatusOr<std::int64_t> ParseTimeFlag(const std::string& flag, const std::string& text) {
  StatusOr<std::int64_t> ms = ParseInstant(text);
  if (!ms.ok()) {
    return InvalidArgumentError("--" + flag + ": '" + EscapeForMessage(text) +
                                "' is not a date or instant (e.g. 2026-11-22 or "
                                "2026-11-22T10:15:30Z)");
  }
  return ms;
}

void WriteOutboxItemFields(JsonOutput& json, const OutboxItem& item) {
  json.Field("seq", item.seq);
  json.Field("type", item.type);
  json.Field("id", item.id);
  json.Field("version", item.version);
  json.Field("action", ChangeActionName(item.action));
  json.Field("state", item.state);
  json.Field("class", item.outcome);
  json.Field("http_status", item.last_http_status);
  json.Field("message", item.message);
  json.Field("attempts", item.attempts);
  json.Field("next_attempt", TimeText(item.next_attempt_ms));
  json.Field("correlation_id", item.correlation_id);
  json.Field("base_remote_version", item.base_remote_version);
  json.Field("force", item.force);
  json.Field("changed_at", TimeText(item.at_ms));
}

void WriteAuditFields(JsonOutput& json, const AuditRecord& row) {
  json.Field("audit_id", row.audit_id);
  json.Field("at", TimeText(row.at_ms));
  json.Field("operation", row.operation);
  json.Field("type", row.type);
  json.Field("id", row.id);
  json.Field("local_version", row.local_version);
  json.Field("remote_version", row.remote_version);
  json.Field("transport", row.transport);
  json.Field("outcome", row.outcome);
  json.Field("http_status", row.http_status);
  json.Field("message", row.message);
  json.Field("retry_of", row.retry_of);
  json.Field("correlation_id", row.correlation_id);
}

std::string ConflictReason(const ConflictRecord& c) {
  const std::string key = c.type + "/" + c.id;
  if (c.remote_body.empty()) return "deleted on the parent, changed here";
  if (c.local_body.empty()) return "deleted here, changed on the parent";
  if (c.base_version == 0 && c.base_body.empty()) {
    return "created here and on the parent (another node) with the same id " + key +
           ", with different content; there is no common version to merge from";
  }
  return "changed here and on the parent since local version " +
         std::to_string(c.base_version) + " in ways that could not be merged";
}

void WriteConflictFields(JsonOutput& json, const ConflictRecord& c, bool with_bodies) {
  json.Field("conflict_id", c.conflict_id);
  json.Field("type", c.type);
  json.Field("id", c.id);
  json.Field("status", c.status);
  json.Field("reason", ConflictReason(c));
  json.Field("outbox_seq", c.outbox_seq);
  json.Field("base_version", c.base_version);
  json.Field("local_version", c.local_version);
  json.Field("remote_version", c.remote_version);
  json.Field("created", TimeText(c.created_ms));
  json.Field("resolved", TimeText(c.resolved_ms));
  if (!with_bodies) return;
  auto body = [&](const char* key, const std::string& text) {
    json.Key(key);
    if (text.empty()) {
      json.Null();
    } else {
      json.Raw(text);
    }
  };
  body("base", c.base_body);
  body("local", c.local_body);
  body("server", c.remote_body);
}

void PrintOperatorResult(const OperatorActionResult& done, bool json, std::int64_t conflict_id) {
  if (!json) {
    std::cout << done.message << '\n';
    return;
  }
  JsonOutput out;
  out.StartObject();
  if (conflict_id != 0) out.Field("conflict_id", conflict_id);
  out.Key("requeued");
  out.StartArray();
  for (std::int64_t s : done.requeued) out.Int(s);
  out.EndArray();
  out.Key("discarded");
  out.StartArray();
  for (std::int64_t s : done.discarded) out.Int(s);
  out.EndArray();
  out.Field("local_version", done.local_version);
  out.Field("message", done.message);
  out.EndObject();
  out.Print();
}

}  // namespace fhirsync::cli
