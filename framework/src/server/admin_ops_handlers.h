// The admin API's operations part (internal), what the admin page needs
// beyond the outbox, conflicts and audit endpoints of admin_handlers.h.
// Every endpoint needs the `admin` role (checked before dispatch).
//
//   GET  /admin/status[?timeout=S]   the node's sync state as `fhirsync status`
//                                    explains it: {node_id, is_child, in_sync,
//                                    lines, problems: [{code, words, command}]};
//                                    the parent is asked within S seconds
//                                    (default 2, at most 30; 0: not asked)
//   GET  /admin/children[?minutes=N] children heard from in the last N minutes
//                                    (default 60): {last_seq, feed_page_size,
//                                    children: [{name, last_contact, requests,
//                                    at_head, feed_position, behind}]}
//   POST /admin/sync/pull, /admin/sync/push
//                                    one pull or push now (NodeServer::Options::
//                                    sync_now): {side, message}; 501 without it
//   GET  /admin/ui/, /admin/ui/{file} the admin page (files compiled in)
//
// Thread safety: as the handlers (see handlers.h).

#ifndef FHIRSYNC_SERVER_ADMIN_OPS_HANDLERS_H_
#define FHIRSYNC_SERVER_ADMIN_OPS_HANDLERS_H_

#include <optional>

#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

// The response when the request (segments[0] == "admin") is one of the
// routes above, or a 403 for any admin action (not GET/HEAD) a browser sent
// from another site (Origin of another host, Sec-Fetch-Site cross-site);
// nullopt otherwise.
std::optional<HttpResponse> DispatchAdminOps(ServerContext& context, const HttpRequest& request);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_ADMIN_OPS_HANDLERS_H_
