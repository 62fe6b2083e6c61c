// OpenNode: a verb's fhirsync::Node (fhirsync/node.h), with the warnings it
// reports (an optional plugin skipped) printed as the program prints them.
//
// Thread safety: as fhirsync::Node.

#ifndef FHIRSYNC_APPS_FHIRSYNC_NODE_H_
#define FHIRSYNC_APPS_FHIRSYNC_NODE_H_

#include <memory>
#include <string>

#include "fhirsync/node.h"
#include "fhirsync/status.h"

namespace fhirsync::cli {

// Node::Open(dir): NotFound (with a hint to run `fhirsync init`) when there
// is no configuration; InvalidArgument naming the key for a bad one; the
// store's error otherwise.
StatusOr<std::unique_ptr<Node>> OpenNode(const std::string& dir);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_NODE_H_
