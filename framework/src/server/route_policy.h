// What a route needs and what it is called (internal), decided on the parsed
// request (method and decoded path segments, see request_target.h), never on
// the raw request target: "/%61dmin/outbox" and "//admin/outbox" are the
// admin API as the router sees them, so they need the admin role too.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_SERVER_ROUTE_POLICY_H_
#define FHIRSYNC_SERVER_ROUTE_POLICY_H_

#include <optional>
#include <string>

#include "server/auth.h"
#include "server/http_types.h"

namespace fhirsync::server {

// The role the request needs: admin for anything under /admin, read for
// GET and HEAD, write otherwise; nullopt (no credentials at all) only for
// GET or HEAD of exactly /healthz, which a load balancer or service
// manager asks without a password.
std::optional<Role> RoleNeeded(const HttpRequest& request);

// The route pattern the router matched, for metrics: "/fhir/{type}/{id}",
// "/feed/{page}", "/admin/outbox/{seq}/retry", ... A small fixed set, so a
// label never carries an id or a user's input; "other" for a path no route
// serves.
std::string RouteLabel(const HttpRequest& request);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ROUTE_POLICY_H_
