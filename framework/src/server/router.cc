#include "server/router.h"

#include <charconv>
#include <exception>

#include "fhirsync/base/text_util.h"
#include "server/admin_handlers.h"
#include "server/handlers.h"
#include "server/openmrs_rest_handlers.h"
#include "server/operation_outcome.h"
#include "server/ops_handlers.h"

namespace fhirsync::server {

namespace {

HttpResponse MethodNotAllowed(const HttpRequest& request, const char* allow) {
  HttpResponse response =
      ErrorResponse(405, "not-supported",
                    "method " + EscapeForMessage(request.method) + " is not allowed here (allowed: " +
                        allow + ")");
  response.SetHeader("Allow", allow);
  return response;
}

HttpResponse NoSuchEndpoint(const HttpRequest& request) {
  std::string path;
  for (const std::string& segment : request.segments) path += "/" + segment;
  return ErrorResponse(404, "not-found", "no endpoint at '" + EscapeForMessage(path) + "'");
}

bool IsGet(const HttpRequest& r) { return r.method == "GET" || r.method == "HEAD"; }

HttpResponse DispatchFhir(ServerContext& context, const HttpRequest& request) {
  const auto& s = request.segments;  // s[0] == "fhir"
  const std::string& m = request.method;
  if (s.size() == 1) {
    if (m == "POST") return HandleBundle(context, request);
    return MethodNotAllowed(request, "POST");
  }
  if (s.size() == 2 && s[1] == "metadata") {
    if (IsGet(request)) return HandleMetadata(context, request);
    return MethodNotAllowed(request, "GET");
  }
  if (s.size() == 2 && s[1] == "$digest") {
    if (IsGet(request)) return HandleDigest(context, request);
    return MethodNotAllowed(request, "GET");
  }
  if (s.size() == 2 && s[1] == "_history") {
    if (IsGet(request)) return HandleHistory(context, request, "");
    return MethodNotAllowed(request, "GET");
  }
  if (s.size() == 2 && s[1] == "$export") {
    if (IsGet(request)) return HandleExportKickoff(context, request);
    return MethodNotAllowed(request, "GET");
  }
  if (s[1] == "$export-status") {
    if (s.size() != 3) return NoSuchEndpoint(request);
    if (IsGet(request) || m == "DELETE") return HandleExportStatus(context, request, s[2]);
    return MethodNotAllowed(request, "GET, DELETE");
  }
  if (s[1] == "$export-file") {
    if (s.size() != 4) return NoSuchEndpoint(request);
    if (IsGet(request)) return HandleExportFile(context, request, s[2], s[3]);
    return MethodNotAllowed(request, "GET");
  }
  const std::string& type = s[1];
  if (Status st = ValidateResourceType(type); !st.ok()) {
    return ErrorResponse(400, "invalid", "URL: " + st.message());
  }
  if (s.size() == 2) {
    if (IsGet(request)) return HandleSearch(context, request, type);
    if (m == "POST") return HandleCreate(context, request, type);
    return MethodNotAllowed(request, "GET, POST");
  }
  if (s[2] == "_history") {
    if (s.size() != 3) return NoSuchEndpoint(request);
    if (IsGet(request)) return HandleHistory(context, request, type);
    return MethodNotAllowed(request, "GET");
  }
  if (s[2] == "_search") {
    return ErrorResponse(501, "not-supported", "POST _search is not supported; use GET");
  }
  const std::string& id = s[2];
  if (Status st = ValidateId(id); !st.ok()) {
    return ErrorResponse(400, "invalid", "URL: " + st.message());
  }
  if (s.size() == 3) {
    if (IsGet(request)) return HandleRead(context, request, type, id);
    if (m == "PUT") return HandleUpdate(context, request, type, id);
    if (m == "DELETE") return HandleDelete(context, request, type, id);
    return MethodNotAllowed(request, "GET, PUT, DELETE");
  }
  if (s[3] != "_history" || s.size() > 5) return NoSuchEndpoint(request);
  if (!IsGet(request)) return MethodNotAllowed(request, "GET");
  if (s.size() == 4) return HandleInstanceHistory(context, request, type, id);
  return HandleVread(context, request, type, id, s[4]);
}

HttpResponse DispatchFeed(ServerContext& context, const HttpRequest& request) {
  const auto& s = request.segments;
  if (s.size() != 2) return NoSuchEndpoint(request);
  if (!IsGet(request)) return MethodNotAllowed(request, "GET");
  if (s[1] == "recent") return HandleFeed(context, request, 0);
  std::int64_t page = 0;
  auto [end, error] = std::from_chars(s[1].data(), s[1].data() + s[1].size(), page);
  if (error != std::errc() || end != s[1].data() + s[1].size() || page < 1) {
    return ErrorResponse(400, "invalid",
                         "feed page '" + EscapeForMessage(s[1]) +
                             "' is not a page number (1, 2, ...) or 'recent'");
  }
  return HandleFeed(context, request, page);
}

}  // namespace

HttpResponse Dispatch(ServerContext& context, const HttpRequest& request) {
  try {
    const auto& s = request.segments;
    if (!s.empty() && s[0] == "fhir") return DispatchFhir(context, request);
    if (!s.empty() && s[0] == "feed") return DispatchFeed(context, request);
    if (!s.empty() && s[0] == "admin") return DispatchAdmin(context, request);
    if (s.size() == 1 && (s[0] == "healthz" || s[0] == "metrics")) {
      if (!IsGet(request)) return MethodNotAllowed(request, "GET");
      return s[0] == "healthz" ? HandleHealthz(context, request) : HandleMetrics(context, request);
    }
    if (IsOpenmrsRestRequest(request)) return DispatchOpenmrsRest(context, request);
    return NoSuchEndpoint(request);
  } catch (const std::exception& e) {
    return ErrorResponse(500, "exception",
                         std::string("internal error: ") + EscapeForMessage(e.what(), 200));
  }
}

bool IsBundleEndpointPost(const HttpRequest& request) {
  return request.method == "POST" && request.segments.size() == 1 &&
         request.segments[0] == "fhir";
}

}  // namespace fhirsync::server
