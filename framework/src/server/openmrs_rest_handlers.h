// The node's OpenMRS REST facade (internal): `/ws/rest/v1/{resource}/{uuid}`
// for resources this node holds in OpenMRS REST representation (stored with
// format openmrs-rest, keyed by the resource name and uuid), so that a child
// can sync REST-only resources from a fhirsync parent:
//   GET    /ws/rest/v1/{resource}/{uuid}[?v=ref|default|full]
//   POST   /ws/rest/v1/{resource}          create (at the body's uuid, else a new one)
//   POST   /ws/rest/v1/{resource}/{uuid}   update the properties the body names
//   DELETE /ws/rest/v1/{resource}/{uuid}[?reason=...]   void (or retire)
//   DELETE /ws/rest/v1/{resource}/{uuid}?purge=true     purge
// Versions are the node's: every answer carries ETag W/"n", and a POST update
// or DELETE with If-Match is refused with 412 when the resource moved on.
// Authentication and roles are the server's (GET needs read, writes need
// write). Errors are OpenMRS-style JSON ({"error":{"message":...}}).
//
// Thread safety: as the other handlers (the store is thread-safe).

#ifndef FHIRSYNC_SERVER_OPENMRS_REST_HANDLERS_H_
#define FHIRSYNC_SERVER_OPENMRS_REST_HANDLERS_H_

#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

// True for a request under /ws/rest/ (its errors take the OpenMRS form).
bool IsOpenmrsRestRequest(const HttpRequest& request);
bool IsOpenmrsRestTarget(const std::string& uri);

// Routes and runs a request whose segments start with ws/rest/v1. Never
// throws.
HttpResponse DispatchOpenmrsRest(ServerContext& context, const HttpRequest& request);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_OPENMRS_REST_HANDLERS_H_
