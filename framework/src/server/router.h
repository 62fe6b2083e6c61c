// Maps a request's method and path to its handler (internal).

#ifndef FHIRSYNC_SERVER_ROUTER_H_
#define FHIRSYNC_SERVER_ROUTER_H_

#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

// Routes and runs the request. Unknown paths give 404, a known path with
// another method 405 (with Allow), hostile or malformed URL parts 400; each
// with an OperationOutcome. Never throws: an unexpected exception from a
// handler becomes a 500 OperationOutcome.
HttpResponse Dispatch(ServerContext& context, const HttpRequest& request);

// A POST to the batch/transaction endpoint (POST /fhir), whatever the query.
bool IsBundleEndpointPost(const HttpRequest& request);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ROUTER_H_
