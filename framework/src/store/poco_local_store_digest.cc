// PocoLocalStore: the verify range scan (see local_store.h, digest_sql.h).

#include <Poco/Data/Statement.h>

#include "fhirsync/base/text_util.h"
#include "store/digest_sql.h"
#include "store/poco_local_store.h"

namespace fhirsync::store {

using Poco::Data::Keywords::into;
using Poco::Data::Keywords::use;

StatusOr<std::vector<DigestEntry>> PocoLocalStore::ScanDigest(const DigestScanQuery& query) {
  if (query.limit < 0) return InvalidArgumentError("limit must not be negative");
  const bool nul = query.type.find('\0') != std::string::npos ||
                   query.from_id.find('\0') != std::string::npos ||
                   query.to_id.find('\0') != std::string::npos;
  if (nul) return std::vector<DigestEntry>{};  // no stored key holds a NUL
  // The statement table tells the backend: SQLite's is the only one whose
  // address is SqliteSql().
  const DigestSql& digest_sql = &sql_ == &SqliteSql() ? SqliteDigestSql() : PostgresDigestSql();
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::string type = query.type;
    std::string from_id = query.from_id;
    int has_to = query.to_id.empty() ? 0 : 1;
    std::string to_id = query.to_id;
    Poco::Int64 limit = query.limit;
    std::vector<std::string> ids;
    std::vector<Poco::Int64> versions;
    std::vector<std::string> hashes;
    std::vector<Poco::Int64> updated;
    lease.session() << digest_sql.scan, use(type), use(from_id), use(has_to), use(to_id),
        use(limit), into(ids), into(versions), into(hashes), into(updated),
        Poco::Data::Keywords::now;
    std::vector<DigestEntry> entries(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      entries[i].id = std::move(ids[i]);
      entries[i].version = versions[i];
      entries[i].content_hash = std::move(hashes[i]);
      entries[i].last_updated_ms = updated[i];
    }
    return entries;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "scan " + EscapeForMessage(query.type) + " for verify");
  }
}

}  // namespace fhirsync::store
