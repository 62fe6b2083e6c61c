#include "node.h"

#include <iostream>

namespace fhirsync::cli {

StatusOr<std::unique_ptr<Node>> OpenNode(const std::string& dir) {
  NodeOptions options;
  options.on_warning = [](const std::string& warning) {
    std::cerr << "fhirsync: warning: " << warning << '\n';
  };
  return Node::Open(dir, std::move(options));
}

}  // namespace fhirsync::cli
