// The SQLite LocalStore backend, the embedded default (internal header).
//
// One file in WAL mode with synchronous=FULL, so a write acknowledged to the
// caller survives a power cut, and readers never block the writer. Writes
// start with BEGIN IMMEDIATE: SQLite then serialises writers across every
// connection and process using the file, which is what keeps `seq` dense and
// in commit order.
//
// Thread safety: as LocalStore.

#ifndef FHIRSYNC_STORE_SQLITE_LOCAL_STORE_H_
#define FHIRSYNC_STORE_SQLITE_LOCAL_STORE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "fhirsync/local_store.h"

namespace fhirsync::store {

// Opens or creates the store at `path` (a file name; its folder must exist).
// InvalidArgument if the file cannot be opened or created, DataLoss if it is
// not a fhirsync store, FailedPrecondition if it belongs to another node id
// or has a newer schema.
StatusOr<std::unique_ptr<LocalStore>> OpenSqliteLocalStore(const std::string& path,
                                                           const std::string& node_id,
                                                           std::size_t max_body_bytes);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQLITE_LOCAL_STORE_H_
