// The embedding guide's Node example (docs/embedding.md): a host application
// that keeps its records in a fhirsync node and syncs them with the node's
// parent through fhirsync::Node, the same facade the `fhirsync` program's
// verbs use. Built and run as a test (tests/docs/CMakeLists.txt).
//
// usage: node_example NODE_FOLDER
//   NODE_FOLDER is a node made by `fhirsync init` (with --parent for a child)
//   or, when it holds no fhirsync.json yet, one this program makes (a node
//   without a parent).

#include <cstdint>
#include <filesystem>
#include <iostream>

#include "fhirsync/config.h"
#include "fhirsync/node.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: node_example NODE_FOLDER\n";
    return 2;
  }
  const std::string dir = argv[1];
  if (!std::filesystem::exists(std::filesystem::path(dir) / fhirsync::kConfigFileName)) {
    std::filesystem::create_directories(dir);
    fhirsync::NodeConfig config;
    config.node_id = "clinic-emr";
    if (fhirsync::Status saved = fhirsync::SaveNodeConfig(dir, config); !saved.ok()) {
      std::cerr << saved.ToString() << "\n";
      return 1;
    }
  }

  // 1. Open the node: its configuration, its store; plugins start when used.
  fhirsync::NodeOptions options;
  options.on_warning = [](const std::string& line) { std::cerr << "warning: " << line << "\n"; };
  auto node = fhirsync::Node::Open(dir, options);
  if (!node.ok()) {
    std::cerr << "open: " << node.status().ToString() << "\n";
    return 1;
  }

  // 2. The host writes through the store: the version, its change-feed row
  //    and its outbox row commit together.
  fhirsync::WriteOp op;
  op.type = "Patient";
  op.id = "amina";
  op.body = R"({"resourceType":"Patient","id":"amina","name":[{"family":"Diallo"}]})";
  auto written = (*node)->store().Put(op);
  if (!written.ok()) {
    std::cerr << "put: " << written.status().ToString() << "\n";
    return 1;
  }
  std::cout << "wrote Patient/amina version " << written->version << "\n";

  // 3. With a parent: one push and one pull, as a "sync now" button would.
  if (!(*node)->config().parent.url.empty()) {
    auto pushed = (*node)->Push();
    if (!pushed.ok()) std::cerr << "push: " << pushed.status().ToString() << "\n";
    if (pushed.ok()) std::cout << "pushed " << pushed->sent << "\n";
    auto pulled = (*node)->Pull();
    if (!pulled.ok()) std::cerr << "pull: " << pulled.status().ToString() << "\n";
    if (pulled.ok()) std::cout << "pulled " << pulled->applied << "\n";
  }

  // 4. The node's state in words (0: do not ask the parent now).
  auto status = (*node)->GetStatus(/*timeout_ms=*/0);
  if (!status.ok()) {
    std::cerr << "status: " << status.status().ToString() << "\n";
    return 1;
  }
  for (const std::string& line : status->report.lines) std::cout << line << "\n";
  auto stats = (*node)->store().Stats();
  if (!stats.ok()) return 1;
  std::int64_t live = 0;
  for (const fhirsync::TypeCount& type : stats->types) live += type.live;
  std::cout << "node " << (*node)->config().node_id << " holds " << live << " resource(s)\n";
  return 0;
}
