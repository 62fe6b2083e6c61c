// NodeServer: the parent role. It serves a node's LocalStore over HTTP to its
// children (architecture §1 step 4):
//   /fhir/...        FHIR R4 REST API (metadata, read, vread, update, create,
//                    delete, _history, search, batch and transaction Bundles)
//   /feed/recent     the Atom feed of the store's change sequence
//   /feed/{n}        archive pages, which never change
//   /ws/rest/v1/{resource}/{uuid}
//                    OpenMRS REST facade for resources held in OpenMRS REST
//                    representation (GET ?v=ref|default|full, POST create and
//                    update, DELETE void or ?purge=true; errors are OpenMRS
//                    JSON {"error":{"message":...}})
//   /healthz         200 when the store answers, 503 otherwise (no credentials)
//   /metrics         Prometheus text exposition (read role)
//   /admin/...       the admin API and the admin page /admin/ui/ (admin role)
// Every other endpoint needs credentials (HTTP Basic users or bearer tokens from
// config.server) and a role: GET needs `read`, writes need `write`; `admin`
// grants both. Responses are gzip-compressed when the client accepts it;
// gzip request bodies are accepted. Every error body is a FHIR
// OperationOutcome, except under /ws/rest/ (OpenMRS error JSON).
//
// The HTTP machinery is Boost.Beast on Boost.Asio (TLS through
// boost::asio::ssl when server.tls is set; docs/deployment.md): a couple of
// I/O threads read and write every connection asynchronously, under
// deadlines for a request's head (server.header_timeout_seconds) and body
// (server.body_timeout_seconds), so idle and slow clients cost memory, not
// threads. The handlers, which block on the store, run on a bounded worker
// pool (server.threads) with a bounded queue (server.queue_size); a request
// past the queue, and a connection past server.max_connections_per_address
// or server.max_connections, is answered 503 with Retry-After, never reset.
//
// Thread safety: Start() and Stop() must not race each other (call them from
// one thread); port() may be called from any thread after Start() returned.
// Requests are served concurrently; the LocalStore must be thread-safe (every
// LocalStore is) and must outlive the NodeServer. The destructor stops the
// server.

#ifndef FHIRSYNC_NODE_SERVER_H_
#define FHIRSYNC_NODE_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/snapshot.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_resource_manager.h"

namespace fhirsync {

// How NodeServer::Options::log receives the access log.
enum class AccessLogFormat { kNone, kText, kJson };

class NodeServer {
 public:
  struct Options {
    // The admin API's discard and resubmit read from this node's own parent
    // through these transports (borrowed; must outlive the server). Null:
    // those two actions answer 412, the others work.
    const SyncResourceManager* push_routes = nullptr;
    // The parent's node id: the origin of server copies the admin API
    // restores locally.
    std::string parent_node_id = "parent";
    // The embedding host's business rule, checked after server.rules on
    // every FHIR create and update (PUT, POST, Bundle entries) before it is
    // stored. `incoming` has type, id and the JSON body set. A non-OK
    // Status refuses the write: 422 Unprocessable Entity with an
    // OperationOutcome (issue code "business-rule") carrying the status
    // message, which a child dead-letters. Called on worker threads, many at
    // once, so it must be thread-safe; it must not throw. Empty: no hook.
    std::function<Status(const Resource& incoming)> check_write;
    // The access log: one line per request (time, client address, user,
    // method, path without its query, status, bytes sent, duration), and
    // the server's warnings, are passed to `log` (from worker threads, one
    // call at a time). kNone or an empty `log`: nothing is logged.
    AccessLogFormat access_log_format = AccessLogFormat::kNone;
    std::function<void(std::string_view line)> log;
    // The node folder whose fhirsync.json is re-read when it changes, so
    // that users and tokens added or removed take effect within a second.
    // Empty: the users and tokens of `config` stay for the server's life.
    std::string reload_users_from;
    // Operations (docs/operator-guide.md, "Monitoring" and "The admin
    // page"). The node folder: /admin/status resolves the parent's password
    // file and plugins from it, as `fhirsync status` does (empty: the
    // current folder).
    std::string node_dir;
    // Text in Prometheus exposition format appended to GET /metrics (`serve`
    // adds the figures a `sync --watch` of the node wrote). Called on a
    // worker thread per scrape; must be thread-safe. Empty: nothing added.
    std::function<std::string()> extra_metrics;
    // Runs one pull ("pull") or push ("push") of this node, for the admin
    // page's "pull now" / "push now" (POST /admin/sync/{side}); returns a
    // one-line account, or the error to show. Called on a worker thread and
    // may take long; must be thread-safe. Empty: those answer 501.
    std::function<StatusOr<std::string>(const std::string& side)> sync_now;
    // For tests: called on an export job's thread (GET /fhir/$export, see
    // docs/snapshot.md) with the job id once the job's watermark is taken
    // (progress.written == 0) and after each page of resources it wrote. It
    // may block to hold the job at that point, e.g. to commit a change
    // after the watermark while the snapshot is being cut. Empty: none.
    std::function<void(const std::string& job, const SnapshotProgress& progress)>
        on_export_progress;
  };

  // Copies `config` (node_id and the server section are used). `store` is
  // borrowed and must outlive this object.
  NodeServer(const NodeConfig& config, LocalStore& store, Options options);
  NodeServer(const NodeConfig& config, LocalStore& store);
  ~NodeServer();
  NodeServer(const NodeServer&) = delete;
  NodeServer& operator=(const NodeServer&) = delete;

  // Binds server.bind:server.port (port 0: any free port) and starts
  // serving. InvalidArgument for a bad address or limits in the config, or
  // a TLS file that cannot be used; Unavailable when the address cannot be
  // bound (in use, not local); FailedPrecondition when already started, or
  // when the address is not loopback, server.tls is not set and
  // server.allow_plaintext is false (the message says why).
  Status Start();

  // The bound port; 0 before Start() succeeded.
  int port() const;

  // "http://127.0.0.1:8080" ("https://..." with TLS); empty before Start()
  // succeeded.
  std::string base_url() const;

  // Stops accepting, lets requests in progress finish for up to a second,
  // then shuts down the connections still busy (a client that drips or
  // stalls cannot hold the stop), and joins the workers: returns within
  // about a second whatever the clients do. Safe to call more than once and
  // before Start().
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirsync

#endif  // FHIRSYNC_NODE_SERVER_H_
