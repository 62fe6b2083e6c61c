// The verify range scan of the PostgreSQL backend (see digest_sql.h).

#include "store/digest_sql.h"

namespace fhirsync::store {

const DigestSql& PostgresDigestSql() {
  // COLLATE "C": byte order whatever the database's locale, so both sides of
  // a verify split ranges at the same ids.
  static const DigestSql sql{
      "SELECT id, version, content_hash, last_updated_ms FROM resources"
      " WHERE type = $1 AND deleted = 0 AND id COLLATE \"C\" >= $2"
      " AND ($3::int = 0 OR id COLLATE \"C\" < $4)"
      " ORDER BY id COLLATE \"C\" LIMIT $5::bigint"};
  return sql;
}

}  // namespace fhirsync::store
