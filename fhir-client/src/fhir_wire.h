// The FHIR R4 JSON wire format as the client needs it: Bundles (history,
// searchset, batch-response), OperationOutcome, CapabilityStatement, and
// version ids from ETag / Location / meta (internal to fhirsync::fhir_client).

#ifndef FHIRSYNC_FHIR_FHIR_WIRE_H_
#define FHIRSYNC_FHIR_FHIR_WIRE_H_

#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/net/http_transport.h"
#include "fhirsync/status.h"

namespace fhirsync::fhir {

// ".../Patient/1/_history/3" -> "3"; "" when there is no _history segment.
std::string VersionFromLocation(std::string_view location);
// meta.versionId of a resource body; "" when absent or the body is not JSON.
std::string MetaVersionId(std::string_view body);

// The issues of an OperationOutcome body, "error (business-rule): Negative
// stock; warning (informational): ...", from diagnostics, else
// details.text, else the code. "" when the body is not an OperationOutcome.
std::string OperationOutcomeText(std::string_view body);

// A resource found in a Bundle.
struct BundleResource {
  std::string resource_type;
  std::string id;
  std::string version_id;
  std::string last_updated;
  std::string body;  // compact JSON of the resource
};

// One entry of a batch-response Bundle.
struct BatchAnswer {
  int http_status = 0;  // from response.status "200 OK"; 0 when absent or not a number
  std::string status_text;  // response.status as sent ("412 Precondition Failed")
  std::string etag;
  std::string location;
  std::string outcome_text;  // response.outcome, if any
  bool has_resource = false;
  BundleResource resource;
};

// InvalidArgument naming the problem when `body` is not a Bundle, or nests
// deeper than kMaxJsonAnswerDepth (core/json_depth.h; checked before the
// parse, as every parser here does).
StatusOr<HistoryPage> ParseHistoryBundle(std::string_view body);
// Also InvalidArgument when the Bundle's type is given and is not
// "batch-response", or `entry` is not an array.
StatusOr<std::vector<BatchAnswer>> ParseBatchResponse(std::string_view body);
// Resources of a searchset (search.mode "match" or absent) and the next link.
struct SearchPage {
  std::vector<BundleResource> matches;
  std::string next_url;
};
StatusOr<SearchPage> ParseSearchBundle(std::string_view body);
StatusOr<FhirCapabilities> ParseCapabilityStatement(std::string_view body);

// {"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"T/id"}},...]}
std::string BuildBatchReadBundle(std::string_view type, const std::vector<std::string>& ids);

// A `batch` Bundle of writes, one entry per element of `writes`, in order:
// {"resource":<body as given>,"request":{"method":"PUT","url":"T/id",
// "ifMatch":"W/\"n\""}} (or "ifNoneMatch":"*" for a create) or
// {"request":{"method":"DELETE",...}}. Bodies are
// copied byte for byte (never re-serialised), so they must already be checked
// JSON objects (InspectFhirBody); types, ids and versions must be valid.
std::string BuildBatchWriteBundle(const std::vector<const BatchWrite*>& writes);

// The HTTP transport settings of a FHIR client with `options`, speaking to
// `endpoint` (parsed from options.base_url): TLS, credentials, timeouts,
// the overall deadline, answer bounds and gzip, in one place for every
// client of this library. Accepts FHIR JSON; callers change what differs.
net::HttpTransportOptions TransportOptionsFor(const FhirClientOptions& options,
                                              const net::HttpEndpoint& endpoint);

}  // namespace fhirsync::fhir

#endif  // FHIRSYNC_FHIR_FHIR_WIRE_H_
