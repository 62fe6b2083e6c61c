// The SQL of the verify range scan, one text per backend (internal header).
//
// Kept apart from StoreSql so the verify section adds files instead of
// editing the shared statement table.

#ifndef FHIRSYNC_STORE_DIGEST_SQL_H_
#define FHIRSYNC_STORE_DIGEST_SQL_H_

#include <string>

namespace fhirsync::store {

struct DigestSql {
  // (type, from_id, has_to 0/1, to_id, limit) -> id, version, content_hash,
  // last_updated_ms of live resources, ascending by id in byte order.
  std::string scan;
};

const DigestSql& SqliteDigestSql();
const DigestSql& PostgresDigestSql();

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_DIGEST_SQL_H_
