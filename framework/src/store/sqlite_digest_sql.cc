// The verify range scan of the SQLite backend (see digest_sql.h).

#include "store/digest_sql.h"

namespace fhirsync::store {

const DigestSql& SqliteDigestSql() {
  // The primary key (type, id) serves both the range and the order; SQLite
  // compares TEXT bytewise (BINARY), the order verify relies on.
  static const DigestSql sql{
      "SELECT id, version, content_hash, last_updated_ms FROM resources"
      " WHERE type = ? AND deleted = 0 AND id >= ? AND (? = 0 OR id < ?)"
      " ORDER BY id LIMIT ?"};
  return sql;
}

}  // namespace fhirsync::store
