// The PostgreSQL LocalStore backend, for a parent serving many children
// (internal header).
//
// Several `fhirsync serve` processes may share one database. Every write
// transaction starts by taking one transaction-scoped advisory lock
// (pg_advisory_xact_lock) and only then reads max(seq): writers are
// serialised across processes, so `seq` is dense and assigned in commit
// order, which the Atom feed needs (its archive pages are seq ranges and
// must never change).
//
// Thread safety: as LocalStore.

#ifndef FHIRSYNC_STORE_POSTGRES_LOCAL_STORE_H_
#define FHIRSYNC_STORE_POSTGRES_LOCAL_STORE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "fhirsync/local_store.h"

namespace fhirsync::store {

// Connects with a libpq connection string, creating the schema in the
// current schema if the database is empty. Unavailable if the server cannot
// be reached, DataLoss if the database holds other tables but no fhirsync
// schema, FailedPrecondition if it belongs to another node id or has a newer
// schema.
StatusOr<std::unique_ptr<LocalStore>> OpenPostgresLocalStore(const std::string& connection,
                                                             const std::string& node_id,
                                                             std::size_t max_body_bytes);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_POSTGRES_LOCAL_STORE_H_
