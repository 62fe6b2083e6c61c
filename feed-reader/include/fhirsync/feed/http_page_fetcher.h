// HttpPageFetcher: the FeedPageFetcher a child uses to read its parent's
// Atom feed over HTTP/1.1 or HTTPS (the shared net::HttpTransport:
// keep-alive, Basic or bearer auth, gzip, TLS),
// handing the body to the reader chunk by chunk as it arrives, so a page is
// never held whole in memory (the reader's size cap applies to the decoded
// bytes, which also stops a gzip bomb).
//
// Only the path and query of a page URL are used: every request goes to the
// configured parent origin. Credentials therefore never follow a link to
// another host, and a parent whose links name a host the child cannot
// resolve (a proxy, an internal name) still works.
//
// Errors (each message starts "GET <url>: "): the HTTP status mapped by
// StatusCodeForHttpStatus (401 kUnauthenticated, 403 kPermissionDenied, 404
// kNotFound, 5xx kUnavailable, ...); no connection kUnavailable; a receive
// timeout or the whole fetch past request_deadline_ms kDeadlineExceeded; a
// page past max_page_bytes kResourceExhausted; a body cut short
// kUnavailable; cancelled (the program is stopping, see fhirsync/net/io_watchdog.h)
// kUnavailable; or the sink's own error.
//
// Thread safety: Fetch() may be called from several threads; calls are
// serialised on the one connection.

#ifndef FHIRSYNC_FEED_HTTP_PAGE_FETCHER_H_
#define FHIRSYNC_FEED_HTTP_PAGE_FETCHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fhirsync/feed/feed_navigator.h"
#include "fhirsync/net/http_auth.h"
#include "fhirsync/status.h"

namespace fhirsync::feed {

struct HttpPageFetcherOptions {
  std::string parent_url;  // "http(s)://parent:8080": scheme, host and port are used
  std::string ca_file;     // https: PEM file of trusted CAs; empty: the system's store
  std::string username;    // Basic auth when set (and no bearer token)
  std::string password;
  std::string bearer_token;
  // SMART Backend Services (fhirsync/net/http_auth.h); smart.client_id set:
  // wins over the other two.
  net::SmartAuthOptions smart;
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 30000;
  int keep_alive_idle_ms = 4000;  // reopen a connection idle longer than this
  bool accept_gzip = true;
  // Decoded bytes of one page handed to the sink at most
  // (parent.max_answer_bytes); more: kResourceExhausted naming the key.
  std::size_t max_page_bytes = 64u * 1024u * 1024u;
  // The whole fetch, connecting to the page's last byte
  // (parent.request_deadline_seconds); <= 0: none.
  int request_deadline_ms = 300000;
  // This node's id, sent as X-Fhirsync-Node-Id with every request so that
  // a parent tells its children apart (its admin page lists them by it);
  // empty: not sent.
  std::string node_id;
};

class HttpPageFetcher : public FeedPageFetcher {
 public:
  // An invalid parent_url makes every Fetch() return kInvalidArgument.
  explicit HttpPageFetcher(HttpPageFetcherOptions options);
  ~HttpPageFetcher() override;

  Status Fetch(const std::string& url, const ChunkSink& sink) override;

  // TCP connections opened so far (1 for many fetches with keep-alive).
  std::int64_t connections_opened() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync::feed

#endif  // FHIRSYNC_FEED_HTTP_PAGE_FETCHER_H_
