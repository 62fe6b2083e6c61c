// The verify range scan of the SQLite backend (see digest_sql.h).

#include "store/digest_sql.h"

namespace fhirsync::store {

const DigestSql& SqliteDigestSql() {
  // The index of `changes` on (type, id, version) serves both the range and
  // the order, and finds each resource's newest version; SQLite compares
  // TEXT bytewise (BINARY), the order verify relies on.
  static const DigestSql sql{
      "SELECT c.id, c.version, c.content_hash, c.at_ms FROM changes c"
      " WHERE c.type = ? AND c.id >= ? AND (? = 0 OR c.id < ?)"
      " AND c.version = (SELECT max(m.version) FROM changes m"
      " WHERE m.type = c.type AND m.id = c.id) AND c.deleted = 0"
      " ORDER BY c.id LIMIT ?"};
  return sql;
}

}  // namespace fhirsync::store
