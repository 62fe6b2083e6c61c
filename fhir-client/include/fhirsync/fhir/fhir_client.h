// FhirClient: a FHIR R4 REST client (JSON, application/fhir+json) over one
// keep-alive HTTP connection: read, vread, read-many, create at the client's
// id (If-None-Match: *), conditional create, versioned update (If-Match), delete,
// `_history?_since=` paging and the CapabilityStatement.
//
// Every answer becomes a FhirResult whose `status` code follows architecture §5
// (StatusCodeForHttpStatus in fhirsync/http_status.h):
//   2xx                 OK
//   400 (other 4xx)     kInvalidArgument (dead letter)
//   401                 kUnauthenticated (pause pushing)
//   403                 kPermissionDenied
//   404                 kNotFound
//   405, 501, 3xx       kUnimplemented (not offered; redirects are not followed)
//   408, 429, 5xx       kUnavailable (retry with backoff); 504: kDeadlineExceeded
//   409, 412            kAborted (version conflict)
//   410                 kNotFound with `gone` set (deleted on the server)
//   422                 kFailedPrecondition with the OperationOutcome text
//   no connection       kUnavailable; a timeout: kDeadlineExceeded
// A write (PUT/POST/DELETE) whose request went out but whose answer was lost
// (connection cut, timeout while waiting, response cut short, 502/504) is
// *ambiguous*: the server may have applied it. Then `ambiguous` is set and the
// message says "ambiguous"; the caller reads the server copy back before
// sending again (architecture §5). A read is never ambiguous.
// Status messages name the interaction and the HTTP status, e.g.
// "PUT Patient/1: HTTP 422 Unprocessable Entity: Negative stock".
//
// Thread safety: all methods may be called from several threads; calls are
// serialised on the client's one connection. For requests in flight at the
// same time, use one client per flight.

#ifndef FHIRSYNC_FHIR_FHIR_CLIENT_H_
#define FHIRSYNC_FHIR_FHIR_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/net/http_auth.h"
#include "fhirsync/status.h"

namespace fhirsync::fhir {

enum class ReadManyMode {
  kAuto,      // a batch Bundle when the CapabilityStatement lists `batch`, else `_id` search
  kBatch,     // POST [base] with a Bundle of type batch holding one GET per id
  kIdSearch,  // GET [base]/Type?_id=a,b,c (following next links)
};

struct FhirClientOptions {
  std::string base_url;  // "http://127.0.0.1:8080/fhir" or https://
  // Authentication: a bearer token wins over Basic; neither = anonymous.
  std::string username;
  std::string password;
  std::string bearer_token;
  // SMART Backend Services (fhirsync/net/http_auth.h); smart.client_id set:
  // wins over the other two.
  net::SmartAuthOptions smart;
  // https: the PEM file of trusted CAs; empty: the system's CA store (the
  // certificate and host name are always verified, fhirsync/net/http_transport.h).
  std::string ca_file;
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 30000;  // waiting for / sending bytes
  // An idle connection older than this is reopened before use, so that a
  // server that closed it meanwhile is not mistaken for a lost answer.
  int keep_alive_idle_ms = 4000;
  std::size_t max_response_bytes = 64u * 1024u * 1024u;  // after gzip decoding
  // The whole interaction, connecting to the answer's last byte (a server
  // that drips its answer is cut off: kDeadlineExceeded); <= 0: none.
  int request_deadline_ms = 300000;
  // This node's id, sent as X-Fhirsync-Node-Id with every request so that
  // a parent tells its children apart (its admin page lists them by it);
  // empty: not sent.
  std::string node_id;
  bool accept_gzip = true;
  ReadManyMode read_many_mode = ReadManyMode::kAuto;
  std::size_t read_many_chunk = 100;  // ids per batch Bundle / _id search
  std::size_t history_page_size = 0;  // `_count` of a first _history page; 0 = server default
};

// The outcome of one interaction.
struct FhirResult {
  Status status;               // see the file comment
  int http_status = 0;         // 0 when no answer arrived
  std::string version_id;      // from ETag W/"n", else Location .../_history/n, else meta.versionId
  std::string last_modified;   // Last-Modified header, as sent
  std::string location;        // Location / Content-Location header
  std::string outcome_text;    // OperationOutcome issues ("error (business-rule): ...; ...")
  std::string body;            // the response body (decoded), e.g. the resource JSON
  bool gone = false;           // HTTP 410: the resource was deleted on the server
  bool ambiguous = false;      // a write whose answer was lost; see the file comment

  bool ok() const { return status.ok(); }
};

// One write of a batch Bundle (FhirClient::WriteBatch).
enum class WriteMethod {
  kPut,     // create at the client's id, or update (with If-Match when versioned)
  kDelete,  // delete, with If-Match when versioned
};

struct BatchWrite {
  WriteMethod method = WriteMethod::kPut;
  std::string type;
  std::string id;
  std::string body;  // the resource's FHIR JSON (PUT only)
  // Sent as the entry's request.ifMatch W/"n"; empty: unconditional.
  std::string expected_version;
  // A PUT that may only create (sent as request.ifNoneMatch "*", as
  // CreateAt() sends its header): the server answers 412 when it holds a
  // live resource at the id. Not with expected_version, nor on a delete.
  bool if_none_match = false;
};

// What WriteBatch() got back.
struct BatchWriteOutcome {
  // The POST of the Bundle itself: OK when a batch-response came back with a
  // 2xx status, else that failure (as for any interaction). `http_status` is
  // the POST's (0 when no answer arrived).
  Status bundle_status;
  int bundle_http_status = 0;
  // One result per write, in the order given, each mapped as the single
  // interaction's answer would be (see the file comment).
  std::vector<FhirResult> entries;
};

// One entry of a `_history` Bundle.
struct HistoryEntry {
  std::string resource_type;
  std::string id;
  std::string version_id;  // meta.versionId, else from the request/response
  std::string last_updated;
  std::string method;      // request.method: "PUT", "POST", "DELETE" ("" if absent)
  bool deleted = false;    // a DELETE entry (no resource body)
  std::string body;        // the resource JSON; empty when deleted
};

struct HistoryPage {
  // In the server's order: FHIR sorts _history newest first, so a reader that
  // applies changes in order must reverse each page (or collect all pages).
  std::vector<HistoryEntry> entries;
  std::string next_url;  // absolute; empty on the last page
  std::string bundle_type;  // Bundle.type as sent ("history"; "" when absent)
};

// What the server's CapabilityStatement (GET [base]/metadata) says.
struct FhirCapabilities {
  std::string fhir_version;  // "4.0.1"
  std::string software;      // software.name
  // Resource type -> interaction codes ("read", "vread", "update", "create",
  // "delete", "history-instance", "history-type", "search-type").
  std::map<std::string, std::set<std::string>> interactions;
  // Resource type -> search parameter names ("_id", ...).
  std::map<std::string, std::set<std::string>> search_params;
  std::set<std::string> system_interactions;  // "batch", "transaction", "history-system"
  // Types whose entry says updateCreate: true (a PUT may create a resource
  // at the id the client chose).
  std::set<std::string> update_create;

  bool Supports(const std::string& type, const std::string& interaction) const;
};

class FhirClient {
 public:
  // Does not connect; the first call does. Invalid base URLs surface as
  // kInvalidArgument from every call.
  explicit FhirClient(FhirClientOptions options);
  ~FhirClient();
  FhirClient(const FhirClient&) = delete;
  FhirClient& operator=(const FhirClient&) = delete;

  // GET [base]/type/id. `body` holds the resource on success.
  FhirResult Read(std::string_view type, std::string_view id);
  // GET [base]/type/id/_history/version.
  FhirResult VRead(std::string_view type, std::string_view id, std::string_view version);

  // Reads several resources of one type in as few round trips as the server
  // allows (see ReadManyMode). Returns one result per id, in the order given:
  // found (OK, body), kNotFound (absent from the answer or 404), kNotFound +
  // gone (410). The call as a whole fails (the StatusOr error) when the
  // batch/search itself fails, e.g. kUnavailable.
  StatusOr<std::vector<FhirResult>> ReadMany(std::string_view type,
                                             const std::vector<std::string>& ids);

  // PUT [base]/type/id with `If-None-Match: *`: creates the resource at the
  // client's id only where the server holds no live resource there (a
  // deleted one may be created again). A server that holds one answers 412:
  // kAborted, like a version conflict, so the caller reads the server copy
  // and compares (architecture §5). A server that ignores the header replaces the
  // resource instead ("update as create"), which is what a PUT without it
  // does: Update() with an empty expected_version.
  FhirResult CreateAt(std::string_view type, std::string_view id, std::string_view body);
  // POST [base]/type with If-None-Exist: `if_none_exist` (a search query such
  // as "identifier=sys|123"); the server creates it only if nothing matches.
  FhirResult CreateConditional(std::string_view type, std::string_view body,
                               std::string_view if_none_exist);
  // PUT [base]/type/id with If-Match: W/"expected_version" (kAborted on a
  // version conflict, 409 or 412). An empty expected_version sends no If-Match.
  FhirResult Update(std::string_view type, std::string_view id, std::string_view body,
                    std::string_view expected_version);
  // DELETE [base]/type/id, with If-Match when expected_version is not empty.
  FhirResult Delete(std::string_view type, std::string_view id,
                    std::string_view expected_version = {});

  // Several writes in one round trip: POST [base] with a Bundle of type
  // `batch` (not `transaction`, so one rejected entry does not fail the
  // others), each entry with request.method/url, request.ifMatch and
  // request.ifNoneMatch (BatchWrite::if_none_match). Each
  // entry's response (status, outcome, etag, location) becomes that write's
  // FhirResult exactly as CreateAt()/Update()/Delete() map a response; the
  // messages start "PUT Patient/1 (batch entry 3 of 100)". Never fails as a
  // whole, every write gets a result:
  //  - a write that is invalid here (bad type, id, version or body) is not
  //    sent and gets kInvalidArgument;
  //  - when the POST itself fails (no answer, or a non-2xx answer for the
  //    whole Bundle, e.g. 401 or 503), every write carries that failure, with
  //    `ambiguous` set on each if the Bundle may have been applied;
  //  - an answer that is not a usable batch-response (malformed JSON, another
  //    Bundle type, another number of entries) or an entry whose status is
  //    not an HTTP status gives kUnavailable with `ambiguous` set (the server
  //    may have applied the write; read it back before sending again) and
  //    http_status 0: nothing is reported as written that is not known to be.
  BatchWriteOutcome WriteBatch(const std::vector<BatchWrite>& writes);

  // Whether the server's CapabilityStatement lists the system interaction
  // `batch`. Asks once and remembers the answer; false, and asked again next
  // time, when the statement cannot be read.
  bool SupportsBatch();

  // One page of GET [base]/type/_history?_since=since (type empty: the whole
  // server, [base]/_history). `page_url` empty = the first page, else a
  // next_url from an earlier page (it must be on this client's server).
  // The first page of the system history answered 400, 404, 405 or 501, or
  // with a Bundle that is not a history (a server that takes "_history" for
  // a search), is Unimplemented: the server lists history only per type.
  StatusOr<HistoryPage> HistoryPageAt(std::string_view type, std::string_view since,
                                      std::string_view page_url = {});
  // All pages from the first, following next links, each page handed to
  // `on_page` (a non-OK return stops and is returned). Stops with
  // kInvalidArgument if a next link repeats (a loop).
  Status History(std::string_view type, std::string_view since,
                 const std::function<Status(HistoryPage&& page)>& on_page);

  // GET [base]/metadata. Also remembered for ReadManyMode::kAuto.
  StatusOr<FhirCapabilities> Capabilities();
  // The statement already read and remembered, else Capabilities().
  StatusOr<FhirCapabilities> CapabilitiesOnce();

  // How many TCP connections this client has opened so far (keep-alive
  // reuse shows as 1 for many calls).
  std::int64_t connections_opened() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync::fhir

#endif  // FHIRSYNC_FHIR_FHIR_CLIENT_H_
