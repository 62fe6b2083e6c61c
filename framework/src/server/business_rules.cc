#include "server/business_rules.h"

#include <string_view>
#include <vector>

#include "fhirsync/base/text_util.h"

namespace fhirsync::server {
namespace {

bool HoldsValue(const rapidjson::Value& value) {
  if (value.IsNull()) return false;
  if (value.IsString()) return value.GetStringLength() > 0;
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (HoldsValue(element)) return true;
    }
    return false;
  }
  if (value.IsObject()) return value.MemberCount() > 0;
  return true;  // numbers and booleans
}

bool HasPath(const rapidjson::Value& value, std::string_view path) {
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (HasPath(element, path)) return true;
    }
    return false;
  }
  if (!value.IsObject()) return false;
  const std::size_t dot = path.find('.');
  const std::string_view head = path.substr(0, dot);
  auto member = value.FindMember(
      rapidjson::Value(rapidjson::StringRef(head.data(), static_cast<rapidjson::SizeType>(head.size()))));
  if (member == value.MemberEnd()) return false;
  if (dot == std::string_view::npos) return HoldsValue(member->value);
  return HasPath(member->value, path.substr(dot + 1));
}

}  // namespace

bool HasElement(const rapidjson::Value& resource, const std::string& path) {
  return !path.empty() && HasPath(resource, path);
}

Status CheckBusinessRules(const ServerContext& context, const std::string& type,
                          const std::string& id, const rapidjson::Value& resource,
                          const std::string& body) {
  for (const RuleConfig& rule : context.config.rules) {
    if (rule.type != type) continue;
    std::vector<std::string> missing;
    for (const std::string& path : rule.required) {
      if (!HasElement(resource, path)) missing.push_back(path);
    }
    if (missing.empty()) continue;
    std::string names;
    for (const std::string& path : missing) names += (names.empty() ? "" : ", ") + path;
    return FailedPreconditionError("business rule '" + rule.name + "' refuses " + type + "/" +
                                   id + (rule.message.empty() ? "" : ": " + rule.message) +
                                   " (missing: " + names + ")");
  }
  if (context.check_write) {
    Resource incoming;
    incoming.type = type;
    incoming.id = id;
    incoming.body = body;
    Status verdict = context.check_write(incoming);
    if (!verdict.ok()) {
      return FailedPreconditionError("business rule of the host application refuses " + type +
                                     "/" + id + ": " + verdict.message());
    }
  }
  return Status::Ok();
}

}  // namespace fhirsync::server
