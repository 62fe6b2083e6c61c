// fhirsync serve: runs the node as a parent, serving its store over HTTP
// (NodeServer: FHIR R4 API and Atom change feed) until SIGTERM or SIGINT.

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "command.h"
#include "fhirsync/node_server.h"
#include "fhirsync/net/io_watchdog.h"
#include "fhirsync/node.h"
#include "node.h"
#include "service_notify.h"
#include "watch_metrics.h"

namespace fhirsync::cli {
namespace {

// The figures file of the node's `sync --watch`, if it wrote one; a file
// that is not there (no daemon runs) adds nothing.
std::string ReadWatchMetrics(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// One pull or push for the admin page's buttons, one at a time. Node::Pull
// and Node::Push start transports of their own: a click is a fresh start
// like `sync --once`, not one over connections a restarted parent has closed
// meanwhile. The pause a 401/403 left stays: the admin page is not where
// credentials are mended.
StatusOr<std::string> SyncNow(Node& node, const std::string& side) {
  if (node.config().parent.url.empty()) {
    return FailedPreconditionError("this node has no parent to pull from or push to (parent.url)");
  }
  std::ostringstream text;
  if (side == "pull") {
    FHIRSYNC_ASSIGN_OR_RETURN(PullSummary s, node.Pull());
    text << "pulled: fetched " << s.fetched << ", applied " << s.applied << ", unchanged "
         << s.unchanged << ", conflicts " << s.conflicts << ", rejected " << s.rejected;
    return text.str();
  }
  PushRunOptions push;
  push.resume_paused = false;
  FHIRSYNC_ASSIGN_OR_RETURN(PushReport r, node.Push(push));
  text << "pushed: sent " << r.sent << ", merged " << r.merged << ", conflicts " << r.conflicts
       << ", dead letters " << r.dead_lettered << ", retrying later " << r.retrying;
  if (r.paused) text << "; pushing is paused: " << r.pause_message;
  return text.str();
}

// Each open connection is a descriptor, and the server is built to hold
// thousands (server.max_connections): the soft limit, often 1024, is raised
// to the hard one the system allows.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

constexpr char kHelp[] =
    "usage: fhirsync serve [--bind ADDR] [--port N] [--log-format text|json] [--dir D]\n"
    "\n"
    "Serves the node to its children over HTTP until stopped with SIGTERM or SIGINT\n"
    "(Ctrl-C), then finishes the requests in progress and exits 0:\n"
    "  /fhir/...      FHIR R4 API (read, vread, update, create, delete, _history,\n"
    "                 search, batch and transaction Bundles, metadata)\n"
    "  /feed/recent   the Atom feed of the node's changes; /feed/N archive pages\n"
    "  /ws/rest/v1/{resource}/{uuid}   OpenMRS REST (GET ?v=full, POST create and\n"
    "                 update, DELETE void or ?purge=true) for resources held in\n"
    "                 OpenMRS REST representation\n"
    "  /healthz       200 when the store answers, 503 with the reason otherwise\n"
    "                 (no credentials: for load balancers and service managers)\n"
    "  /metrics       Prometheus text format (read role): requests, latency, outbox,\n"
    "                 dead letters, conflicts, store size, and the figures a running\n"
    "                 'sync --watch' of this node writes to sync-watch.prom\n"
    "  /admin/...     the admin API and the admin page /admin/ui/ (admin role)\n"
    "Every other request needs credentials: add users or tokens with\n"
    "'fhirsync user add'. Users and tokens added or removed while it runs take\n"
    "effect within a second. After 5 failed logins of one user from one address,\n"
    "that pair waits (429 with Retry-After: 1 s, doubling with each further\n"
    "failure, up to 300 s).\n"
    "Each request is logged on stderr: time, client, user, method, path (without\n"
    "the query), status, bytes sent, duration.\n"
    "Once listening it prints one line 'listening on http://ADDR:PORT' on stdout\n"
    "(https:// with server.tls.cert_file and key_file). Without TLS it serves only\n"
    "a loopback address unless server.allow_plaintext is true (docs/deployment.md).\n"
    "\n"
    "  --bind ADDR   address to listen on (default: server.bind, 127.0.0.1)\n"
    "  --port N      port (default: server.port; 0 picks any free port)\n"
    "  --log-format text|json   the access log's form on stderr (default text)\n"
    "  --dir D       the node folder (default: the current folder)\n";

int RunServe(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string bind;
  std::int64_t port = -1;
  cl.flags().AddString("bind", "ADDR", &bind);
  cl.flags().AddInt("port", "N", &port, 0, 65535);
  std::string log_format = "text";
  cl.flags().AddString("log-format", "text|json", &log_format);
  if (auto exit = cl.Parse(0, 0)) return *exit;
  if (log_format != "text" && log_format != "json") {
    return cl.UsageError("--log-format: expected text or json, got '" + log_format + "'");
  }

  StatusOr<std::unique_ptr<Node>> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  // What the server runs with: the node's configuration with the flags.
  NodeConfig config = (*node)->config();
  if (cl.Seen("bind")) config.server.bind = bind;
  if (cl.Seen("port")) config.server.port = static_cast<int>(port);
  if (config.server.users.empty() && config.server.tokens.empty()) {
    PrintError(cl.command_name(),
               "warning: no users or tokens are configured, so every request will be refused "
               "with 401 (add one with 'fhirsync user add')");
  }

  // Block the stop signals before the server starts its threads, so that
  // every thread inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that goes away mid-answer must not kill the server.
  signal(SIGPIPE, SIG_IGN);

  NodeServer::Options options;
  // A node with a parent offers the admin API's discard and resubmit, which
  // read from that parent; without working transports they answer 412.
  if (!config.parent.url.empty()) {
    StatusOr<const SyncResourceManager*> routes = (*node)->Transports();
    if (routes.ok()) {
      options.push_routes = *routes;
    } else {
      std::cerr << "fhirsync serve: warning: admin discard/resubmit unavailable: "
                << routes.status().message() << '\n';
    }
  }
  options.parent_node_id = (*node)->ParentNodeIdOrDefault();
  options.access_log_format =
      log_format == "json" ? AccessLogFormat::kJson : AccessLogFormat::kText;
  options.log = [](std::string_view line) { std::cerr << line << '\n'; };
  options.reload_users_from = (*node)->dir();
  options.node_dir = (*node)->dir();
  const std::string watch_metrics =
      (std::filesystem::path((*node)->dir()) / kWatchMetricsFile).string();
  options.extra_metrics = [watch_metrics] { return ReadWatchMetrics(watch_metrics); };
  std::mutex sync_mutex;
  options.sync_now = [&](const std::string& side) -> StatusOr<std::string> {
    std::unique_lock<std::mutex> lock(sync_mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
      return FailedPreconditionError("a pull or push started from the admin page is still running");
    }
    return SyncNow(**node, side);
  };
  RaiseOpenFileLimit();
  NodeServer server(config, (*node)->store(), options);
  if (Status started = server.Start(); !started.ok()) return cl.Fail(started);
  // Said at every start without TLS: an operator must not learn from a
  // capture that Basic passwords and patient data went over the wire in
  // clear.
  if (!config.server.tls.enabled()) {
    PrintError(cl.command_name(),
               "warning: serving plain HTTP on " + server.base_url() +
                   ": passwords, tokens and patient data cross the network unencrypted; serve "
                   "only on a trusted network, or behind a reverse proxy that terminates TLS, "
                   "or set server.tls (docs/deployment.md)");
  }
  std::cout << "listening on " << server.base_url() << std::endl;  // flushes
  NotifyReady("listening on " + server.base_url());

  int received = 0;
  sigwait(&stop_signals, &received);
  NotifyStopping("finishing the requests in progress");
  std::cerr << "fhirsync serve: " << (received == SIGINT ? "SIGINT" : "SIGTERM")
            << " received, stopping" << std::endl;
  net::CancelRemoteCalls();  // an admin action reading from this node's parent
  server.Stop();
  return kExitOk;
}

}  // namespace

extern const Command kServeCommand = {"serve", "serve the node to children over HTTP", kHelp,
                                      &RunServe};

}  // namespace fhirsync::cli
