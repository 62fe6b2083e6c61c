// A Get of the current version on a SQLite read connection through a
// statement kept prepared with that connection (internal header).
//
// Poco::Data prepares a statement again on every execution (also when a
// Statement object is executed again), and for a one-row Get that preparing
// was most of the cost. So the hot read, SqliteSql().get_current, is kept as
// a prepared sqlite3_stmt in the read session's pool state and only bound,
// stepped and reset per call. Everything else still goes through Poco::Data.
//
// Thread safety: as ReadSessionPool::Lease (one thread at a time).

#ifndef FHIRSYNC_STORE_SQLITE_PREPARED_GET_H_
#define FHIRSYNC_STORE_SQLITE_PREPARED_GET_H_

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

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQLITE_PREPARED_GET_H_
