#include "plugin_results.h"

namespace fhirsync::plugins {

Status NotConfiguredError(const std::string& plugin) {
  return Status(StatusCode::kFailedPrecondition, "the " + plugin + " plugin is not configured");
}

Status WriteGuard::Check(bool configured, const RemoteResource& resource, bool needs_body) const {
  if (!configured) return NotConfiguredError(plugin);
  const std::string name = resource.type + "/" + resource.id;
  if (resource.format != format) {
    return Status(StatusCode::kInvalidArgument, name + " is not in " + format_text + "; the " +
                                                    plugin + " plugin carries only " + format_name);
  }
  if (needs_body && resource.body.empty()) {
    return Status(StatusCode::kInvalidArgument, name + " has no body");
  }
  return Status();
}

CallOutcome OutcomeOf(const Status& status, int http_status, const std::string& explanation,
                      bool ambiguous) {
  CallOutcome outcome;
  outcome.status = status;
  outcome.http_status = http_status;
  outcome.operation_outcome = explanation;
  outcome.ambiguous = ambiguous;
  return outcome;
}

RemoteWriteResult WriteResultOf(const CallOutcome& outcome, const std::string& version,
                                std::int64_t last_updated_ms) {
  RemoteWriteResult write;
  static_cast<CallOutcome&>(write) = outcome;
  if (outcome.status.ok()) {
    write.version = version;
    write.last_updated_ms = last_updated_ms;
  }
  return write;
}

std::vector<std::string> SplitCommaList(const std::string& text) {
  std::vector<std::string> items;
  std::string current;
  for (char c : text + ",") {
    if (c == ',') {
      if (!current.empty()) items.push_back(current);
      current.clear();
    } else if (c != ' ') {
      current += c;
    }
  }
  return items;
}

}  // namespace fhirsync::plugins
