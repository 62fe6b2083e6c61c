// The embedding guide's example (docs/embedding.md): a host application that
// keeps its records in a fhirsync node, serves them to children, and checks
// what its parent would say about them. Built and run as a test
// (tests/docs/CMakeLists.txt), so it cannot drift from the library.
//
// usage: embed_example NODE_FOLDER

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "fhirsync/config.h"
#include "fhirsync/digest.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: embed_example NODE_FOLDER\n";
    return 2;
  }
  const std::string dir = argv[1];
  std::filesystem::create_directories(dir);

  // 1. The node's configuration: here built in code; a real host would
  //    LoadNodeConfig(dir) the fhirsync.json that `fhirsync init` wrote.
  fhirsync::NodeConfig config;
  config.node_id = "clinic-emr";
  if (fhirsync::Status saved = fhirsync::SaveNodeConfig(dir, config); !saved.ok()) {
    std::cerr << saved.ToString() << "\n";
    return 1;
  }

  // 2. Open the store (SQLite in the folder) and write a patient. The write,
  //    its change-feed row and its outbox row commit together.
  auto store = fhirsync::OpenLocalStore(config.store, dir, config.node_id);
  if (!store.ok()) {
    std::cerr << "open: " << store.status().ToString() << "\n";
    return 1;
  }
  fhirsync::WriteOp op;
  op.type = "Patient";
  op.id = "amina";
  op.body = R"({"resourceType":"Patient","id":"amina","name":[{"family":"Diallo"}]})";
  auto written = (*store)->Put(op);
  if (!written.ok()) {
    std::cerr << "put: " << written.status().ToString() << "\n";
    return 1;
  }
  std::cout << "wrote Patient/amina version " << written->version << "\n";

  // 3. Read it back, and see it waiting to be pushed to the parent.
  auto patient = (*store)->Get("Patient", "amina");
  if (!patient.ok()) return 1;
  auto queued = (*store)->PendingOutbox(10);
  if (!queued.ok()) return 1;
  std::cout << "read version " << patient->version << ", " << queued->size()
            << " change(s) waiting for the parent\n";

  // 4. Serve the store to children on a free port (as `fhirsync serve` does).
  fhirsync::NodeServer server(config, **store);
  if (fhirsync::Status started = server.Start(); !started.ok()) {
    std::cerr << "serve: " << started.ToString() << "\n";
    return 1;
  }
  std::cout << "serving on " << server.base_url() << "\n";

  // 5. The digest a child's `fhirsync verify` compares with.
  auto digests = fhirsync::StoreTypeDigests(**store);
  if (!digests.ok() || digests->empty()) return 1;
  std::cout << "digest of " << digests->front().type << ": " << digests->front().count
            << " resource(s)\n";
  server.Stop();
  return 0;
}
