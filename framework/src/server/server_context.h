// What every request handler needs (internal): the store, this node's id,
// the server limits, and the Atom renderer and page cache.

#ifndef FHIRSYNC_SERVER_SERVER_CONTEXT_H_
#define FHIRSYNC_SERVER_SERVER_CONTEXT_H_

#include <string>

#include "fhirsync/atom_feed_page.h"
#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "server/feed_cache.h"

namespace fhirsync::server {

struct ServerContext {
  LocalStore* store = nullptr;
  std::string node_id;
  ServerConfig config;
  AtomPageRenderer atom_renderer;
  FeedCache feed_cache;
};

}  // namespace fhirsync::server

#endif  // FHIRSYNC_SERVER_SERVER_CONTEXT_H_
