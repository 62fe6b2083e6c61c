// fhirsync serve: runs the node as a parent, serving its store over HTTP
// (NodeServer: FHIR R4 API and Atom change feed) until SIGTERM or SIGINT.

#include <signal.h>

#include <iostream>

#include "command.h"
#include "fhirsync/feed/atom_page_writer.h"
#include "fhirsync/node_server.h"
#include "net/io_watchdog.h"
#include "node.h"
#include "push_cli.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync serve [--bind ADDR] [--port N] [--dir D]\n"
    "\n"
    "Serves the node to its children over HTTP until stopped with SIGTERM or SIGINT\n"
    "(Ctrl-C), then finishes the requests in progress and exits 0:\n"
    "  /fhir/...      FHIR R4 API (read, vread, update, create, delete, _history,\n"
    "                 search, batch and transaction Bundles, metadata)\n"
    "  /feed/recent   the Atom feed of the node's changes; /feed/N archive pages\n"
    "  /ws/rest/v1/{resource}/{uuid}   OpenMRS REST (GET ?v=full, POST create and\n"
    "                 update, DELETE void or ?purge=true) for resources held in\n"
    "                 OpenMRS REST representation\n"
    "Every request needs credentials: add users or tokens with 'fhirsync user add'.\n"
    "Once listening it prints one line 'listening on http://ADDR:PORT' on stdout.\n"
    "\n"
    "  --bind ADDR   address to listen on (default: server.bind, 127.0.0.1)\n"
    "  --port N      port (default: server.port; 0 picks any free port)\n"
    "  --dir D       the node folder (default: the current folder)\n";

int RunServe(const Invocation& invocation) {
  CommandLine cl(invocation);
  std::string bind;
  std::int64_t port = -1;
  cl.flags().AddString("bind", "ADDR", &bind);
  cl.flags().AddInt("port", "N", &port, 0, 65535);
  if (auto exit = cl.Parse(0, 0)) return *exit;

  StatusOr<Node> node = OpenNode(cl.dir());
  if (!node.ok()) return cl.Fail(node.status());
  if (cl.Seen("bind")) node->config.server.bind = bind;
  if (cl.Seen("port")) node->config.server.port = static_cast<int>(port);
  if (node->config.server.users.empty() && node->config.server.tokens.empty()) {
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
  options.atom_renderer = feed::WriteAtomPage;
  // A node with a parent offers the admin API's discard and resubmit, which
  // read from that parent; without working transports they answer 412.
  std::unique_ptr<SyncResourceManager> push_routes;
  if (!node->config.parent.url.empty()) {
    StatusOr<std::unique_ptr<SyncResourceManager>> routes = StartTransports(*node);
    if (routes.ok()) {
      push_routes = std::move(routes).value();
    } else {
      std::cerr << "fhirsync serve: warning: admin discard/resubmit unavailable: "
                << routes.status().message() << '\n';
    }
  }
  options.push_routes = push_routes.get();
  options.parent_node_id = ParentNodeId(node->config);
  NodeServer server(node->config, *node->store, options);
  if (Status started = server.Start(); !started.ok()) return cl.Fail(started);
  std::cout << "listening on " << server.base_url() << std::endl;  // flushes

  int received = 0;
  sigwait(&stop_signals, &received);
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
