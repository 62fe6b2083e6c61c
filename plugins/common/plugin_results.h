// What the HTTP transport plugins (fhir, openmrs-rest) share when they turn a
// call into the plugin ABI's result values: the guard every write passes
// before anything is sent (configured, the plugin's one format, a body), and
// the mapping of a client's answer onto CallOutcome / RemoteWriteResult, so
// that both plugins refuse and report alike.
//
// Thread safety: plain values and pure functions.

#ifndef FHIRSYNC_PLUGINS_COMMON_PLUGIN_RESULTS_H_
#define FHIRSYNC_PLUGINS_COMMON_PLUGIN_RESULTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::plugins {

// A result (ReadResult, RemoteWriteResult, ...) carrying only `status`.
template <typename Result>
Result FailedResult(Status status) {
  Result result;
  result.status = std::move(status);
  return result;
}

// FailedPrecondition "the <plugin> plugin is not configured": a call made
// before Configure() succeeded.
Status NotConfiguredError(const std::string& plugin);

// A result carrying NotConfiguredError(plugin).
template <typename Result>
Result NotConfigured(const std::string& plugin) {
  return FailedResult<Result>(NotConfiguredError(plugin));
}

// What one plugin's writes must be.
struct WriteGuard {
  std::string plugin;                                 // "fhir"
  ResourceFormat format = ResourceFormat::kFhirJson;  // the one format it carries
  std::string format_text;                            // "FHIR JSON", for messages
  std::string format_name;                            // "fhir+json", for messages

  // OK when a write of `resource` may be sent. FailedPrecondition when the
  // plugin is not `configured`; InvalidArgument naming type/id when the
  // resource is in another format ("... the fhir plugin carries only
  // fhir+json") or has no body (`needs_body`: creates and updates).
  Status Check(bool configured, const RemoteResource& resource, bool needs_body = true) const;

  // Runs `write` (returning a RemoteWriteResult) when Check() passes; else
  // returns that failure without sending anything.
  template <typename Write>
  RemoteWriteResult Run(bool configured, const RemoteResource& resource, Write&& write) const {
    Status allowed = Check(configured, resource);
    if (!allowed.ok()) return FailedResult<RemoteWriteResult>(std::move(allowed));
    return write();
  }
};

// The ABI's view of one answer: its status (codes per architecture §5), HTTP
// status, the remote's explanation (OperationOutcome text, OpenMRS error
// message) and whether the write may have landed although its answer was lost.
CallOutcome OutcomeOf(const Status& status, int http_status, const std::string& explanation,
                      bool ambiguous);

// A write's result: `outcome`, and when it succeeded the remote's new
// version and time (both ignored otherwise).
RemoteWriteResult WriteResultOf(const CallOutcome& outcome, const std::string& version,
                                std::int64_t last_updated_ms);

// "a, b,,c" -> {"a", "b", "c"}: a comma-separated option, spaces dropped.
std::vector<std::string> SplitCommaList(const std::string& text);

}  // namespace fhirsync::plugins

#endif  // FHIRSYNC_PLUGINS_COMMON_PLUGIN_RESULTS_H_
