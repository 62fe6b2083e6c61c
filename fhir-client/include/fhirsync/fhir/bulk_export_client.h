// BulkExportClient: the client side of FHIR Bulk Data `$export`
// (https://hl7.org/fhir/uv/bulkdata/export.html), as a child uses it for a
// first sync from a snapshot (docs/snapshot.md):
//   kick-off  GET [base]/$export?_type=A,B with Prefer: respond-async;
//             202 Accepted with Content-Location: the job's status URL
//   status    GET the status URL until 200 with the manifest, waiting as
//             each 202's Retry-After says (capped), within a deadline
//   files     GET each output URL as NDJSON, gzip-encoded on the wire; a
//             resumed download asks Range: bytes=N- for the plain bytes
// over the same HTTP transport as FhirClient (TLS, credentials, timeouts
// and the per-request deadline of fhirsync/net/http_transport.h). The
// status and file URLs a server answers with are absolute; they must name
// the base URL's scheme, host and port (credentials are never sent to
// another host), or are refused with InvalidArgument naming the URL.
//
// Thread safety: every method may be called from several threads; requests
// are serialised on the client's connections.

#ifndef FHIRSYNC_FHIR_BULK_EXPORT_CLIENT_H_
#define FHIRSYNC_FHIR_BULK_EXPORT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/status.h"

namespace fhirsync::fhir {

struct BulkExportOptions {
  // Base URL, credentials, TLS and timeouts, as for FhirClient.
  FhirClientOptions client;
  // How long Start() waits for the manifest, kick-off to the status's 200.
  int export_deadline_ms = 30 * 60 * 1000;
  // The longest wait between two status polls, whatever Retry-After says
  // (and the wait when it says nothing is a second).
  int max_poll_interval_ms = 10 * 1000;
  // The most plain bytes one export file may have (the files are streamed,
  // never held whole).
  std::int64_t max_file_bytes = std::int64_t{64} << 30;
};

// A job whose manifest is ready, or why not.
struct BulkExportJob {
  Status status;
  int http_status = 0;       // of the last answer; 0 when none arrived
  std::string outcome_text;  // the server's OperationOutcome, when it sent one
  std::string status_url;    // the job (empty when it never started)
  std::string manifest_text; // the status URL's 200 body
  BulkManifest manifest;     // parsed with ParseBulkManifest
};

struct BulkFileRead {
  Status status;
  int http_status = 0;
  std::int64_t bytes = 0;  // plain bytes handed to the sink
};

class BulkExportClient {
 public:
  explicit BulkExportClient(BulkExportOptions options);
  ~BulkExportClient();
  BulkExportClient(const BulkExportClient&) = delete;
  BulkExportClient& operator=(const BulkExportClient&) = delete;

  // Asks status URL `resume_job` (when not empty) and, when the server no
  // longer knows it (404, 410), or when it is empty, kicks off a new export
  // of `types` (empty: every type). Then polls until the manifest is ready.
  // Errors: the server's, mapped by HTTP status (a kick-off refused names
  // the status and the OperationOutcome); kDeadlineExceeded naming
  // export_deadline_ms when the job was not done in time (status_url set);
  // InvalidArgument for a manifest ParseBulkManifest refuses or a 202
  // without Content-Location.
  BulkExportJob Start(const std::vector<std::string>& types, const std::string& resume_job);

  // Streams file `url`'s plain bytes from `from_byte` to `sink` (false
  // stops it: kCancelled). kNotFound for 404/410; ResourceExhausted naming
  // max_file_bytes; the transport's error otherwise.
  BulkFileRead ReadFile(const std::string& url, std::int64_t from_byte,
                        const std::function<bool(std::string_view)>& sink);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync::fhir

#endif  // FHIRSYNC_FHIR_BULK_EXPORT_CLIENT_H_
