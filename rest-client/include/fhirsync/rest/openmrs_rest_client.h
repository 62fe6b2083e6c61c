// OpenmrsRestClient: a client of the OpenMRS REST web services, API v1
// (`/ws/rest/v1`), over one keep-alive HTTP connection:
//   Get       GET  {base}/{resource}/{uuid}?v=full (or default, ref)
//   Create    POST {base}/{resource} with the body, its "uuid" set to the
//             client's uuid (ids never change on the way up, architecture §4)
//   Update    POST {base}/{resource}/{uuid} (OpenMRS updates the properties
//             the body names)
//   Void      DELETE {base}/{resource}/{uuid}[?reason=...] (void or retire)
//   Purge     DELETE {base}/{resource}/{uuid}?purge=true
// Bodies are JSON as OpenMRS sends them (uuid, display, links, auditInfo,
// ...); the client checks they are JSON objects and otherwise passes them
// through unchanged.
//
// Versions: stock OpenMRS has none. A server that sends `ETag: W/"n"` (a
// fhirsync node's REST facade does) gives RestResult::version, and a write
// with an expected version sends `If-Match: W/"n"`, so a stale write is
// refused with 412 (kAborted). Stock OpenMRS ignores If-Match.
//
// Every answer becomes a RestResult whose status code follows architecture §5
// through StatusCodeForHttpStatus (fhirsync/http_status.h): 400 and other
// 4xx kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied, 404 and
// 410 kNotFound, 409/412 kAborted, 422 kFailedPrecondition, 5xx/408/429
// kUnavailable, 504 kDeadlineExceeded; no connection kUnavailable, a timeout
// kDeadlineExceeded. Messages name the request and the HTTP status and
// carry OpenMRS's error message, e.g. "POST visittype: HTTP 400 Bad Request:
// [Name is required]". A write whose answer was lost is `ambiguous` (read
// the server copy back before sending again).
//
// Thread safety: all methods may be called from several threads; calls are
// serialised on the client's one connection.

#ifndef FHIRSYNC_REST_OPENMRS_REST_CLIENT_H_
#define FHIRSYNC_REST_OPENMRS_REST_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fhirsync/net/http_auth.h"
#include "fhirsync/status.h"

namespace fhirsync::rest {

struct RestClientOptions {
  std::string base_url;  // "http://127.0.0.1:8080/openmrs/ws/rest/v1" or https://
  // HTTP Basic credentials (OpenMRS's scheme); a bearer token wins when set
  // (for gateways in front of OpenMRS). Neither: anonymous.
  std::string username;
  std::string password;
  std::string bearer_token;
  // SMART Backend Services (fhirsync/net/http_auth.h); smart.client_id set:
  // wins over the other two.
  net::SmartAuthOptions smart;
  // https: the PEM file of trusted CAs; empty: the system's CA store.
  std::string ca_file;
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 30000;
  int keep_alive_idle_ms = 4000;
  std::size_t max_response_bytes = 64u * 1024u * 1024u;  // after gzip decoding
  // The whole request, connecting to the answer's last byte; <= 0: none.
  int request_deadline_ms = 300000;
  // This node's id, sent as X-Fhirsync-Node-Id with every request so that
  // a parent tells its children apart (its admin page lists them by it);
  // empty: not sent.
  std::string node_id;
  bool accept_gzip = true;
};

// OpenMRS representations (the `v` parameter).
enum class Representation { kRef, kDefault, kFull };
std::string_view RepresentationName(Representation representation);  // "ref", ...

struct RestResult {
  Status status;             // see the file comment
  int http_status = 0;       // 0 when no answer arrived
  std::string version;       // from ETag W/"n"; empty when the server sends none
  // auditInfo.dateChanged, else auditInfo.dateCreated, of the body in epoch
  // milliseconds; 0 when absent.
  std::int64_t last_updated_ms = 0;
  std::string error_message;  // OpenMRS's error.message (and field errors)
  std::string body;           // the response body (decoded)
  bool ambiguous = false;     // a write whose answer was lost

  bool ok() const { return status.ok(); }
};

class OpenmrsRestClient {
 public:
  // Does not connect; the first call does. An invalid base URL surfaces as
  // kInvalidArgument from every call.
  explicit OpenmrsRestClient(RestClientOptions options);
  ~OpenmrsRestClient();
  OpenmrsRestClient(const OpenmrsRestClient&) = delete;
  OpenmrsRestClient& operator=(const OpenmrsRestClient&) = delete;

  // `resource` must be an OpenMRS resource name (lower case, "visittype")
  // and `uuid` a safe id; otherwise kInvalidArgument before anything is sent.
  RestResult Get(std::string_view resource, std::string_view uuid,
                 Representation representation = Representation::kFull);
  // Creates `body` (a JSON object) at `uuid`: the body's "uuid" is set to it;
  // kInvalidArgument when the body names another uuid or is not an object.
  RestResult Create(std::string_view resource, std::string_view uuid, std::string_view body);
  // Updates with the properties in `body`; If-Match when expected_version is
  // not empty.
  RestResult Update(std::string_view resource, std::string_view uuid, std::string_view body,
                    std::string_view expected_version = {});
  // Voids (data) or retires (metadata); `reason` may be empty.
  RestResult Void(std::string_view resource, std::string_view uuid, std::string_view reason,
                  std::string_view expected_version = {});
  // Removes the object for good.
  RestResult Purge(std::string_view resource, std::string_view uuid,
                   std::string_view expected_version = {});

  // TCP connections opened so far (keep-alive reuse shows as 1 for many calls).
  std::int64_t connections_opened() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync::rest

#endif  // FHIRSYNC_REST_OPENMRS_REST_CLIENT_H_
