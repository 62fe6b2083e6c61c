// The admin API (internal): the operator's push-side actions over HTTP, so
// a host application can offer them as buttons (architecture §5). Every endpoint
// needs the `admin` role (checked before dispatch, see route_policy.h).
//
//   GET  /admin/outbox[?all=true]            pending and dead items, pause
//   POST /admin/outbox/{seq}/retry[?force=true]
//   POST /admin/outbox/_retry-all[?force=true]
//   POST /admin/outbox/{seq}/discard         restore the parent's copy
//   GET  /admin/conflicts[?status=open|resolved|all]
//   GET  /admin/conflicts/{id}               with base, local, server bodies
//   POST /admin/conflicts/{id}/resolve       body {"take":"local"|"server"}
//                                            or {"take":"body","resource":{...}}
//   POST /admin/resubmit?from=T&to=T
//   GET  /admin/audit[?since=T&status=S&operation=O&limit=N]
// Answers are application/json; errors are OperationOutcomes with the
// status the error's code calls for.
//
// Thread safety: as the handlers (see handlers.h).

#ifndef FHIRSYNC_SERVER_ADMIN_HANDLERS_H_
#define FHIRSYNC_SERVER_ADMIN_HANDLERS_H_

#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

// Routes and runs one /admin request (segments[0] == "admin").
HttpResponse DispatchAdmin(ServerContext& context, const HttpRequest& request);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ADMIN_HANDLERS_H_
