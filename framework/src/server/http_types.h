// The server's own request/response values (internal).
//
// The request flow (request_flow.h) turns a request read off a connection
// into an HttpRequest — body already read, capped and un-gzipped — and
// writes an HttpResponse back. Handlers are plain functions of these values, which is
// what lets the tests drive them in-process without sockets.

#ifndef FHIRSYNC_SERVER_HTTP_TYPES_H_
#define FHIRSYNC_SERVER_HTTP_TYPES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fhirsync::server {

inline constexpr char kFhirJson[] = "application/fhir+json; charset=utf-8";
inline constexpr char kAtomXml[] = "application/atom+xml; charset=utf-8";

struct HttpRequest {
  std::string method;                  // "GET"
  std::vector<std::string> segments;   // decoded path segments: {"fhir","Patient","1"}
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;                    // decoded (un-gzipped)
  std::string base_url;                // "http://host:port", from the Host header
  std::string user;                    // who authenticated; "" for /healthz

  // The first header with this name (case-insensitive), or nullptr.
  const std::string* Header(std::string_view name) const;
  // The first query parameter with this name, or nullptr.
  const std::string* Query(std::string_view name) const;
};

// A body prepared once and shared by many responses (cached feed pages).
struct PreparedBody {
  std::string plain;
  std::string gzip;  // GzipCompress(plain)
  std::string etag;  // strong, quoted
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, it is the body (and `body` is unused).
  std::shared_ptr<const PreparedBody> prepared;
  // When set, the body is this file's bytes from file_offset on, sent as
  // they are (no gzip is added: a handler that sends a gzip file says so in
  // Content-Encoding) and streamed from disk, never held in memory: an
  // export's NDJSON files. `body` and `prepared` are unused.
  std::string file_path;
  std::uint64_t file_offset = 0;
  std::uint64_t file_length = 0;  // the bytes from file_offset to the end

  const std::string& Body() const { return prepared ? prepared->plain : body; }

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  const std::string* Header(std::string_view name) const;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_HTTP_TYPES_H_
