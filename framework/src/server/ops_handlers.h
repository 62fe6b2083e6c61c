// The operations endpoints (internal), for monitoring and service managers
// (docs/operator-guide.md, "Monitoring"):
//
//   GET /healthz   no credentials: 200 "ok ..." when the store answers a
//                  trivial query, 503 with a one-line reason otherwise
//                  (text/plain)
//   GET /metrics   read role: Prometheus text exposition format (0.0.4) of
//                  the server's requests and the store's figures, then the
//                  host's extra text (the `sync --watch` figures of `serve`)
//
// ObserveRequest is what the HTTP layer calls once per answered request, so
// the counters and the children list see every request, refused ones too.
//
// Thread safety: as the handlers (see handlers.h).

#ifndef FHIRSYNC_SERVER_OPS_HANDLERS_H_
#define FHIRSYNC_SERVER_OPS_HANDLERS_H_

#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

HttpResponse HandleHealthz(ServerContext& context, const HttpRequest& request);
HttpResponse HandleMetrics(ServerContext& context, const HttpRequest& request);

// Counts `request` (answered with `status` after `seconds`) in
// context.metrics and notes a child's contact in context.children.
void ObserveRequest(ServerContext& context, const HttpRequest& request, int status,
                    double seconds);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_OPS_HANDLERS_H_
