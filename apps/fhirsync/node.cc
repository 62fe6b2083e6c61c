#include "node.h"

namespace fhirsync::cli {

StatusOr<Node> OpenNode(const std::string& dir) {
  Node node;
  node.dir = dir;
  FHIRSYNC_ASSIGN_OR_RETURN(node.config, LoadNodeConfig(dir));
  FHIRSYNC_ASSIGN_OR_RETURN(node.store, OpenLocalStore(node.config.store, dir, node.config.node_id));
  return node;
}

}  // namespace fhirsync::cli
