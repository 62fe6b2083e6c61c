// ObserveSync: gathers what `fhirsync status` explains (SyncObservations,
// see fhirsync/sync_status.h) from a node's store and, briefly, its parent.
//
// From the store: the outbox's pending and dead-lettered items, open
// conflicts, the push pause, and when the parent was last reached and a pull
// last completed (LocalStore::GetParentContact). From the parent, within a
// short time: whether it answers and accepts this node's credentials
// (GET /fhir/metadata, through the node's ParentLink), and how far behind its change feed this node is
// (SyncPullService::MeasureLag through the node's own transport plugins).
// A parent that cannot be reached or refuses the credentials is an
// observation (parent_unreachable, parent_refuses), not an error: the
// report says so and why. Nothing is written to the store.
//
// Thread safety: a function; the store must be usable from this thread.

#ifndef FHIRSYNC_SYNC_OBSERVER_H_
#define FHIRSYNC_SYNC_OBSERVER_H_

#include <cstdint>
#include <string>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "fhirsync/parent_link.h"
#include "fhirsync/status.h"
#include "fhirsync/sync_status.h"

namespace fhirsync {

struct ObserveOptions {
  std::string node_dir = ".";  // resolves the password file and plugins; put into commands
  // How long the parent may take: each request's timeout and the budget for
  // reading its feed. 0: do not ask the parent at all.
  int timeout_ms = 5000;
  std::int64_t now_ms = 0;  // 0: the clock
  // The node's link to its parent (fhirsync/parent_link.h), borrowed; null:
  // one is made from `config` and node_dir for this call.
  const ParentLink* parent = nullptr;
};

// Borrows `store`. Returns the store's error when it cannot be read; what
// goes wrong with the parent is reported inside the observations.
StatusOr<SyncObservations> ObserveSync(LocalStore* store, const NodeConfig& config,
                                       const ObserveOptions& options);

}  // namespace fhirsync

#endif  // FHIRSYNC_SYNC_OBSERVER_H_
