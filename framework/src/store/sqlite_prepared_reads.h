// The hot reads on a SQLite read connection, through statements kept
// prepared with that connection (internal header; sqlite_statements.h says
// why). The reads the server makes on every request (the current version of
// a resource, the last seq for the recent feed page) keep their sqlite3_stmt
// in the read session's pool state and only bind, step and reset it per
// call. Everything else still goes through Poco::Data.
//
// Thread safety: as ReadSessionPool::Lease (one thread at a time).

#ifndef FHIRSYNC_STORE_SQLITE_PREPARED_READS_H_
#define FHIRSYNC_STORE_SQLITE_PREPARED_READS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "fhirsync/resource.h"
#include "store/read_session_pool.h"

namespace fhirsync::store {

// Runs `get_current_sql` (store_sql.h: (type, id) -> resource columns) on
// the lent SQLite session, preparing it on the session's first call. The row,
// or nullopt when there is none. Throws the Poco::Data::SQLite exception for
// a SQLite error. The statement is reset before returning, so no read
// transaction stays open.
std::optional<Resource> SqlitePreparedGet(const ReadSessionPool::Lease& lease,
                                          const std::string& get_current_sql,
                                          const std::string& type, const std::string& id);

// Runs `last_seq_sql` (store_sql.h: () -> max seq or 0) the same way.
std::int64_t SqlitePreparedLastSeq(const ReadSessionPool::Lease& lease,
                                   const std::string& last_seq_sql);

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQLITE_PREPARED_READS_H_
