#include "server/route_policy.h"

#include "server/openmrs_rest_handlers.h"

namespace fhirsync::server {

namespace {

bool IsGet(const HttpRequest& r) { return r.method == "GET" || r.method == "HEAD"; }

// The FHIR interactions' patterns, as DispatchFhir in router.cc tells them
// apart (s[0] == "fhir").
std::string FhirRoute(const std::vector<std::string>& s) {
  if (s.size() == 1) return "/fhir";
  if (s.size() == 2 && (s[1] == "metadata" || s[1] == "$digest" || s[1] == "_history")) {
    return "/fhir/" + s[1];
  }
  if (s.size() == 2 && s[1] == "$export") return "/fhir/$export";
  if (s[1] == "$export-status") return s.size() == 3 ? "/fhir/$export-status/{job}" : "other";
  if (s[1] == "$export-file") return s.size() == 4 ? "/fhir/$export-file/{job}/{n}" : "other";
  if (s.size() == 2) return "/fhir/{type}";
  if (s[2] == "_history" || s[2] == "_search") return s.size() == 3 ? "/fhir/{type}/" + s[2] : "other";
  if (s.size() == 3) return "/fhir/{type}/{id}";
  if (s[3] != "_history") return "other";
  if (s.size() == 4) return "/fhir/{type}/{id}/_history";
  if (s.size() == 5) return "/fhir/{type}/{id}/_history/{vid}";
  return "other";
}

// The admin API's patterns (admin_handlers.h and admin_ops_handlers.h).
std::string AdminRoute(const std::vector<std::string>& s) {
  if (s.size() == 1) return "other";
  if (s[1] == "ui") return "/admin/ui/{file}";
  if (s.size() == 2) return "/admin/" + s[1];
  if (s.size() == 3 && s[1] == "outbox" && s[2] == "_retry-all") return "/admin/outbox/_retry-all";
  if (s.size() == 3 && s[1] == "conflicts") return "/admin/conflicts/{id}";
  if (s.size() == 3 && s[1] == "sync") return "/admin/sync/{side}";
  if (s.size() == 4 && s[1] == "outbox") return "/admin/outbox/{seq}/" + s[3];
  if (s.size() == 4 && s[1] == "conflicts") return "/admin/conflicts/{id}/" + s[3];
  return "other";
}

// The admin routes that exist; AdminRoute puts the request's own words into
// a pattern only for a leaf, which must be one of these.
bool Known(const std::string& label) {
  static const char* const kAdminRoutes[] = {
      "/admin/outbox",          "/admin/outbox/_retry-all",      "/admin/outbox/{seq}/retry",
      "/admin/outbox/{seq}/discard", "/admin/conflicts",         "/admin/conflicts/{id}",
      "/admin/conflicts/{id}/resolve", "/admin/audit",           "/admin/resubmit",
      "/admin/status",          "/admin/children",               "/admin/sync/{side}",
      "/admin/ui/{file}"};
  for (const char* known : kAdminRoutes) {
    if (label == known) return true;
  }
  return false;
}

}  // namespace

std::optional<Role> RoleNeeded(const HttpRequest& request) {
  const auto& s = request.segments;
  if (s.size() == 1 && s[0] == "healthz" && IsGet(request)) return std::nullopt;
  if (!s.empty() && s[0] == "admin") return Role::kAdmin;
  // Cancelling one's own export is part of reading it (export_handlers.cc).
  if (s.size() == 3 && s[0] == "fhir" && s[1] == "$export-status" && request.method == "DELETE") {
    return Role::kRead;
  }
  return IsGet(request) ? Role::kRead : Role::kWrite;
}

std::string RouteLabel(const HttpRequest& request) {
  const auto& s = request.segments;
  if (s.empty()) return "other";
  if (s.size() == 1 && (s[0] == "healthz" || s[0] == "metrics")) return "/" + s[0];
  if (s[0] == "fhir") return FhirRoute(s);
  if (s[0] == "feed") return s.size() != 2 ? "other" : s[1] == "recent" ? "/feed/recent" : "/feed/{page}";
  if (s[0] == "admin") {
    std::string label = AdminRoute(s);
    // An unknown admin leaf is the user's text: it must not become a label.
    return Known(label) ? label : "other";
  }
  if (IsOpenmrsRestRequest(request)) return "/ws/rest/v1/{resource}";
  return "other";
}

}  // namespace fhirsync::server
