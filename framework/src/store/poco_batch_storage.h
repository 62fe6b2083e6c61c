// PocoBatchStorage: BatchStorage through Poco::Data, with a few set-wise
// statements per batch (internal header).
//
// Poco::Data 1.11 compiles a statement again every time it is executed, so
// executing one statement per row would spend most of an import in the SQL
// compiler. Instead the current versions come from one query (a JSON array
// of keys as its single parameter), the `changes` rows from one statement
// bound once to the column vectors, and the `resources` pointers and outbox
// rows from one statement each that reads the rows just inserted. The
// PostgreSQL backend writes this way.
//
// Thread safety: none; used inside one write transaction under the store's
// write mutex.

#ifndef FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_
#define FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_

#include <Poco/Data/Session.h>

#include <vector>

#include "store/batch_writer.h"
#include "store/store_sql.h"

namespace fhirsync::store {

class PocoBatchStorage final : public BatchStorage {
 public:
  // Both must outlive this object.
  PocoBatchStorage(Poco::Data::Session& session, const StoreSql& sql)
      : session_(session), sql_(sql) {}

  void LoadCurrent(const std::vector<ResourceKey>& keys, CurrentVersions& current) override;
  void WriteRows(ChangeRows& rows) override;

 private:
  Poco::Data::Session& session_;
  const StoreSql& sql_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_
