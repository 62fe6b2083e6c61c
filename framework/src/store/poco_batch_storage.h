// PocoBatchStorage: BatchStorage through Poco::Data, with a few set-wise
// statements per batch (internal header).
//
// Poco::Data 1.11 compiles a statement again every time it is executed, and
// on a database server each execution is a round trip, so a statement per row
// would spend most of an import waiting. Instead a chunk takes four
// statements: the current versions from one query (a JSON array of keys as
// its single parameter), the `changes` rows from one statement with the rows
// as a JSON array, and the `resources` pointers and outbox rows from one
// statement each that reads the rows just inserted. The PostgreSQL backend
// writes this way.
//
// Thread safety: none; used inside one write transaction under the store's
// write mutex.

#ifndef FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_
#define FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_

#include <Poco/Data/Session.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <vector>

#include "store/batch_writer.h"
#include "store/store_sql.h"

namespace fhirsync::store {

class PocoBatchStorage final : public BatchStorage {
 public:
  // Both must outlive this object.
  PocoBatchStorage(Poco::Data::Session& session, const StoreSql& sql)
      : session_(session), sql_(sql) {
    Reset();
  }

  void LoadCurrent(std::span<const ResourceKey> keys, CurrentVersions& current) override;
  void Add(const NewVersion& version) override;
  void Finish() override;

 private:
  using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

  // Forgets the chunk so far.
  void Reset();

  Poco::Data::Session& session_;
  const StoreSql& sql_;
  // The chunk's `changes` rows and outbox [seq, correlation id] pairs, as
  // the JSON parameters of insert_changes_json and insert_outbox_for_changes,
  // written as the versions arrive.
  rapidjson::StringBuffer changes_json_;
  JsonWriter changes_writer_{changes_json_};
  rapidjson::StringBuffer outbox_json_;
  JsonWriter outbox_writer_{outbox_json_};
  std::int64_t first_seq_ = 0;  // 0: no row yet
  std::int64_t last_seq_ = 0;
  bool has_outbox_ = false;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_POCO_BATCH_STORAGE_H_
