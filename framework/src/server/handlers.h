// The request handlers (internal). Each takes a request whose route the
// router has matched and whose URL parts it has decoded, and returns the
// complete response; none throws. Errors are OperationOutcome responses.

#ifndef FHIRSYNC_SERVER_HANDLERS_H_
#define FHIRSYNC_SERVER_HANDLERS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "server/http_types.h"
#include "server/server_context.h"

namespace fhirsync::server {

// fhir_handlers.cc
HttpResponse HandleMetadata(ServerContext& context, const HttpRequest& request);
HttpResponse HandleRead(ServerContext& context, const HttpRequest& request,
                        const std::string& type, const std::string& id);
HttpResponse HandleVread(ServerContext& context, const HttpRequest& request,
                         const std::string& type, const std::string& id,
                         const std::string& version);
HttpResponse HandleUpdate(ServerContext& context, const HttpRequest& request,
                          const std::string& type, const std::string& id);
HttpResponse HandleCreate(ServerContext& context, const HttpRequest& request,
                          const std::string& type);
HttpResponse HandleDelete(ServerContext& context, const HttpRequest& request,
                          const std::string& type, const std::string& id);

// history_search.cc. `type` empty: the whole system.
HttpResponse HandleInstanceHistory(ServerContext& context, const HttpRequest& request,
                                   const std::string& type, const std::string& id);
HttpResponse HandleHistory(ServerContext& context, const HttpRequest& request,
                           const std::string& type);

// history_search.cc
HttpResponse HandleSearch(ServerContext& context, const HttpRequest& request,
                          const std::string& type);

// bundle_handler.cc: POST /fhir with a batch or transaction Bundle.
HttpResponse HandleBundle(ServerContext& context, const HttpRequest& request);
// True when `body` is a batch or transaction Bundle whose every entry is a
// GET (it reads and writes nothing), so the read role suffices for it.
// False for anything else, malformed JSON included.
bool IsReadOnlyBundle(std::string_view body);

// feed_handler.cc: `page` 0 is /feed/recent.
HttpResponse HandleFeed(ServerContext& context, const HttpRequest& request, std::int64_t page);

// digest_handler.cc: GET /fhir/$digest (range digests for verify).
HttpResponse HandleDigest(ServerContext& context, const HttpRequest& request);

// export_handlers.cc: FHIR Bulk Data $export (docs/snapshot.md).
HttpResponse HandleExportKickoff(ServerContext& context, const HttpRequest& request);
// GET (status) or DELETE (cancel) of /fhir/$export-status/{job}.
HttpResponse HandleExportStatus(ServerContext& context, const HttpRequest& request,
                                const std::string& job);
HttpResponse HandleExportFile(ServerContext& context, const HttpRequest& request,
                              const std::string& job, const std::string& number);

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_HANDLERS_H_
