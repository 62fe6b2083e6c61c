#include "fhir_outcome.h"

#include <rapidjson/document.h>

#include "fhirsync/resource.h"
#include "plugin_results.h"

namespace fhirsync::fhirplugin {

void CopyOutcome(const fhir::FhirResult& result, CallOutcome* outcome) {
  *outcome = plugins::OutcomeOf(result.status, result.http_status, result.outcome_text,
                                result.ambiguous);
}

std::int64_t MetaLastUpdatedMs(const std::string& body) {
  if (body.empty()) return 0;
  rapidjson::Document doc;
  // Iterative: the body came from the parent, and only two members are read.
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return 0;
  auto meta = doc.FindMember("meta");
  if (meta == doc.MemberEnd() || !meta->value.IsObject()) return 0;
  auto updated = meta->value.FindMember("lastUpdated");
  if (updated == meta->value.MemberEnd() || !updated->value.IsString()) return 0;
  StatusOr<std::int64_t> ms = ParseInstant(
      std::string_view(updated->value.GetString(), updated->value.GetStringLength()));
  return ms.ok() ? *ms : 0;
}

ReadResult ToReadResult(const std::string& type, const std::string& id,
                        fhir::FhirResult result) {
  ReadResult read;
  CopyOutcome(result, &read);
  read.resource.type = type;
  read.resource.id = id;
  read.resource.format = ResourceFormat::kFhirJson;
  if (result.gone) {
    read.status = Status();
    read.resource.deleted = true;
    read.resource.version = result.version_id;
    return read;
  }
  if (!result.ok()) return read;
  read.resource.version = result.version_id;
  read.resource.last_updated_ms = MetaLastUpdatedMs(result.body);
  read.resource.body = std::move(result.body);
  return read;
}

RemoteWriteResult ToWriteResult(const fhir::FhirResult& result) {
  CallOutcome outcome;
  CopyOutcome(result, &outcome);
  return plugins::WriteResultOf(outcome, result.version_id,
                                result.ok() ? MetaLastUpdatedMs(result.body) : 0);
}

}  // namespace fhirsync::fhirplugin
