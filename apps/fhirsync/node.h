// Node: a node folder opened for a verb: its configuration and its store.
//
// Thread safety: as LocalStore (see fhirsync/local_store.h).

#ifndef FHIRSYNC_APPS_FHIRSYNC_NODE_H_
#define FHIRSYNC_APPS_FHIRSYNC_NODE_H_

#include <memory>
#include <string>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/status.h"

namespace fhirsync::cli {

struct Node {
  std::string dir;
  NodeConfig config;
  std::unique_ptr<LocalStore> store;
};

// Loads `dir`/fhirsync.json and opens the store it names. NotFound (with a
// hint to run `fhirsync init`) when there is no configuration;
// InvalidArgument naming the key for a bad one; the store's error otherwise.
StatusOr<Node> OpenNode(const std::string& dir);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_NODE_H_
