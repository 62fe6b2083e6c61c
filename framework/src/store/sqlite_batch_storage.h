// SqliteBatchStorage: BatchStorage on the SQLite write connection through
// statements it keeps prepared (internal header).
//
// Each row is a bind, a step and a reset of a statement compiled once for
// the connection's life (sqlite_statements.h): no SQL is compiled per batch,
// no row is read back to derive another, and no value is copied into a JSON
// parameter. A new version is a `changes` row and, for a local write, an
// outbox row; SQLite's store keeps no separate pointer to the current
// version (sqlite_sql.cc says why).
//
// Thread safety: none; used inside one write transaction under the store's
// write mutex.

#ifndef FHIRSYNC_STORE_SQLITE_BATCH_STORAGE_H_
#define FHIRSYNC_STORE_SQLITE_BATCH_STORAGE_H_

#include <sqlite3.h>

#include <vector>

#include "store/batch_writer.h"
#include "store/sqlite_statements.h"
#include "store/store_sql.h"

namespace fhirsync::store {

class SqliteBatchStorage final : public BatchStorage {
 public:
  // `db` is the write connection; this object must be destroyed before it
  // closes. `sql` must outlive this object.
  SqliteBatchStorage(sqlite3* db, const StoreSql& sql) : statements_(db), sql_(sql) {}

  void LoadCurrent(std::span<const ResourceKey> keys, CurrentVersions& current) override;
  // Writes the rows at once.
  void Add(const NewVersion& version) override;
  void Finish() override {}
  bool CanAddIfNew() const override { return true; }
  bool AddIfNew(const NewVersion& version) override;

 private:
  // The `changes` row through `sql` (insert_change or insert_change_if_new);
  // whether a row was inserted.
  bool InsertChange(const NewVersion& version, const std::string& sql);
  void InsertOutbox(const NewVersion& version);

  SqliteStatementCache statements_;
  const StoreSql& sql_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_SQLITE_BATCH_STORAGE_H_
