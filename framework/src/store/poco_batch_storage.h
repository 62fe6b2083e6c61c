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

#include <Poco/Types.h>

#include <string>
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
  void Add(NewVersion& version) override;
  void Finish() override;

 private:
  // The chunk's new versions as column vectors of `changes` rows in seq
  // order (Poco::Data binds a statement to vectors, executing it per
  // element), plus which of them queue an outbox row.
  struct ChangeRows {
    std::vector<Poco::Int64> seq;
    std::vector<std::string> type;
    std::vector<std::string> id;
    std::vector<Poco::Int64> version;
    std::vector<std::string> action;
    std::vector<Poco::Int64> at_ms;
    std::vector<std::string> origin;
    std::vector<std::string> format;
    std::vector<int> deleted;
    std::vector<std::string> content_hash;
    std::vector<std::string> body;
    std::vector<Poco::Int64> outbox_seq;
    std::vector<std::string> outbox_correlation_id;
  };

  // [[seq, correlation id], ...] of the outbox rows.
  static std::string OutboxJson(const ChangeRows& rows);

  Poco::Data::Session& session_;
  const StoreSql& sql_;
  ChangeRows rows_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_
