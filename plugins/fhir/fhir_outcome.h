// Turning fhir_client results into the plugin ABI's values (internal to the
// FHIR plugin): the status, HTTP status, OperationOutcome text and the
// ambiguity flag are kept as fhir-client reports them.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_PLUGINS_FHIR_FHIR_OUTCOME_H_
#define FHIRSYNC_PLUGINS_FHIR_FHIR_OUTCOME_H_

#include <cstdint>
#include <string>

#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::fhirplugin {

// Copies status, http_status, outcome text and `ambiguous` into `outcome`.
void CopyOutcome(const fhir::FhirResult& result, CallOutcome* outcome);

// A read's answer as a ReadResult: the resource (version, lastUpdated,
// body) when found; a 410 Gone is an OK read of a deleted resource (architecture
// §5: server deletes must reach the child), with the version from its ETag.
ReadResult ToReadResult(const std::string& type, const std::string& id,
                        fhir::FhirResult result);

// A write's answer: the new version and lastUpdated when it succeeded.
RemoteWriteResult ToWriteResult(const fhir::FhirResult& result);

// meta.lastUpdated of a FHIR JSON body in epoch milliseconds; 0 when the body
// has none or it does not parse.
std::int64_t MetaLastUpdatedMs(const std::string& body);

}  // namespace fhirsync::fhirplugin

#endif  // FHIRSYNC_PLUGINS_FHIR_FHIR_OUTCOME_H_
