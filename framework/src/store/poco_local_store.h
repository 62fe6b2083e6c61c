// PocoLocalStore: the LocalStore logic shared by the SQLite and PostgreSQL
// backends, running each backend's SQL (StoreSql) through Poco::Data
// (internal header).
//
// Sessions: one write session, used only under `write_mutex_` (each write
// transaction goes through a BatchWriter, see batch_writer.h), and a pool of
// read sessions (read_session_pool.h), so reads run beside each other and do
// not wait for a write transaction in progress. No SQL is ever built from values. Backends add only how a write
// transaction starts (the lock that serialises writers across processes and
// keeps `seq` dense and in commit order), ends, and how a database error maps
// to a Status.
//
// Thread safety: as LocalStore; every public method may be called from any
// thread.

#ifndef FHIRSYNC_STORE_POCO_LOCAL_STORE_H_
#define FHIRSYNC_STORE_POCO_LOCAL_STORE_H_

#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"
#include "store/batch_writer.h"
#include "store/poco_batch_storage.h"
#include "store/push_sql.h"
#include "store/read_session_pool.h"
#include "store/store_sql.h"
#include "store/write_planner.h"

namespace fhirsync::store {

class PocoLocalStore : public LocalStore {
 public:
  ~PocoLocalStore() override;

  StatusOr<std::vector<WriteResult>> Write(std::span<const WriteOp> ops,
                                           const WriteOptions& options) override;
  StatusOr<ImportSummary> Import(std::span<const WriteOp> ops, const WriteOptions& options,
                                 std::size_t batch_size) override;
  StatusOr<Resource> Get(const std::string& type, const std::string& id) override;
  StatusOr<Resource> GetVersion(const std::string& type, const std::string& id,
                                std::int64_t version) override;
  StatusOr<std::vector<Resource>> History(const std::string& type,
                                          const std::string& id) override;
  StatusOr<std::vector<Change>> Changes(const ChangeQuery& query) override;
  StatusOr<std::int64_t> LastSeq() override;
  StatusOr<SearchResult> Search(const SearchQuery& query) override;
  StatusOr<StoreStats> Stats() override;
  StatusOr<std::vector<OutboxItem>> PendingOutbox(std::int64_t limit) override;
  Status CheckIntegrity() override;
  // Verify range scans: poco_local_store_digest.cc.
  StatusOr<std::vector<DigestEntry>> ScanDigest(const DigestScanQuery& query) override;
  // Monitoring counts: poco_local_store_figures.cc.
  StatusOr<StoreFigures> Figures() override;

  // Push section (poco_local_store_push.cc).
  StatusOr<std::vector<OutboxItem>> ListOutbox(const OutboxQuery& query) override;
  StatusOr<std::optional<SyncState>> GetSyncState(const std::string& type,
                                                  const std::string& id) override;
  StatusOr<std::vector<ConflictRecord>> ListConflicts(const std::string& status,
                                                      std::int64_t limit) override;
  StatusOr<ConflictRecord> GetConflict(std::int64_t conflict_id) override;
  StatusOr<PushRecordResult> RecordPush(const PushRecord& record) override;
  StatusOr<std::string> PushPause() override;
  // Pull, sync state, conflicts and audit: poco_local_store_pull.cc.
  StatusOr<std::vector<PulledResult>> ApplyPull(const PullPage& page) override;
  StatusOr<std::optional<PullCursor>> GetCursor(const std::string& parent_node_id) override;
  StatusOr<ParentContact> GetParentContact() override;
  StatusOr<std::vector<SyncState>> GetSyncStates(
      std::span<const std::pair<std::string, std::string>> keys) override;
  StatusOr<std::int64_t> AppendAudit(const AuditRecord& record) override;
  StatusOr<std::vector<AuditRecord>> QueryAudit(const AuditQuery& query) override;

  const std::string& node_id() const { return node_id_; }

 protected:
  // At most this many read sessions (connections) are open at once.
  static constexpr std::size_t kMaxReadSessions = 8;
  // Import prepares and writes at most this many ops at a time, whatever the
  // batch (transaction) size: the unit of its pipeline.
  static constexpr std::size_t kImportChunk = 1000;
  // The import's first chunk: nothing can be written until it is prepared,
  // so it is small, and the writer starts while the next is prepared.
  static constexpr std::size_t kImportFirstChunk = 200;

  // Takes ownership of the write session (already connected and configured);
  // `read_sessions` makes each read session (connected and configured). It
  // makes the first one now; its Poco exceptions propagate.
  PocoLocalStore(const StoreSql& sql, Poco::Data::Session write_session,
                 ReadSessionPool::Factory read_sessions, std::size_t max_body_bytes);

  // Creates or checks the schema, records or checks the node id (empty:
  // take the recorded one) and prepares the write statements. Call once,
  // right after construction.
  Status Initialize(const std::string& node_id, const std::string& store_name);

  // Start a write transaction holding the backend's writer lock / end it.
  // They throw Poco exceptions, which TranslateException maps.
  virtual void BeginWrite(Poco::Data::Session& session) = 0;
  virtual void CommitWrite(Poco::Data::Session& session) = 0;
  virtual void RollbackWrite(Poco::Data::Session& session) = 0;
  // The current row of (type, id) read on the lent session, or nullopt;
  // throws Poco exceptions. This default runs sql_.get_current through
  // Poco::Data, which prepares it again on every call; a backend may keep
  // the statement prepared in the lease's state instead.
  virtual std::optional<Resource> ReadCurrent(const ReadSessionPool::Lease& lease,
                                              const std::string& type, const std::string& id);
  // The last seq (0 for none) read on the lent session; throws Poco
  // exceptions. This default runs sql_.last_seq through Poco::Data.
  virtual std::int64_t ReadLastSeqOn(const ReadSessionPool::Lease& lease);
  // How write transactions store their rows (batch_writer.h), on the write
  // session. This default runs set-wise statements through Poco::Data
  // (poco_batch_storage.h); a backend may keep per-row statements prepared
  // instead. Called under the write mutex.
  virtual BatchStorage& WriteStorage(Poco::Data::Session& write_session);
  // `what` names the operation ("write", "get Patient/1").
  virtual Status TranslateException(const Poco::Exception& error,
                                    const std::string& what) const = 0;

 private:

  // Validates `ops` (labels count from `first_index`): the work that needs
  // no database, so it runs without a lock on any thread. The PreparedOps
  // point into `ops`.
  StatusOr<std::vector<PreparedOp>> PrepareBatch(std::span<const WriteOp> ops,
                                                 std::size_t first_index) const;
  // The WriteContext of a write transaction just begun: the next seq, the
  // transaction's time, the origin. Throws Poco exceptions.
  WriteContext StartWriteContext(const WriteOptions& options);
  // Applies `prepared` (PrepareBatch of `ops`, labels counting from
  // `first_index`) in the open write transaction, appending each op's
  // result to `results` or, when that is null, only counting it in
  // `counts` (an import, which has no use for the results' strings). On an
  // error the caller rolls the transaction back. Caller holds write_mutex_.
  Status ApplyChunkLocked(std::span<const WriteOp> ops, const std::vector<PreparedOp>& prepared,
                          std::size_t first_index, WriteContext& context,
                          std::vector<WriteResult>* results, ImportSummary* counts = nullptr);
  void RollbackQuietly();
  // Push section helpers, inside an open write transaction (they throw Poco
  // exceptions): `ops` written with `options`.
  StatusOr<std::vector<WriteResult>> WriteInOpenTransaction(std::span<const WriteOp> ops,
                                                            const WriteOptions& options);
  // Runs the push section's schema migrations (from `from_version`) inside
  // Initialize()'s transaction.
  void MigrateLocked(int from_version);
  // Schema version 4: every stored content hash recomputed with
  // ContentHashOf() (fhirsync/base/canonical_json.h), in the open write
  // transaction. Throws Poco::Exception on a database error.
  void RehashContentLocked();
  // Writes audit rows in the open write transaction (at_ms 0 -> now_ms) and
  // returns their ids. Throws Poco exceptions.
  std::vector<std::int64_t> InsertAuditLocked(std::span<const AuditRecord> records,
                                              std::int64_t now_ms);
  std::int64_t ReadLastSeq(Poco::Data::Session& session);
  // Records `ms` under meta `key` in the open write transaction (the
  // parent-contact times). Throws Poco exceptions.
  void SetMetaTimeLocked(const char* key, std::int64_t ms);
  // ApplyPull's part of ParentContact: a page read is a contact; one that
  // completes the pull is also the last completed pull.
  void RecordPullContactLocked(bool completes_pull, std::int64_t now_ms);

  const StoreSql& sql_;
  const std::size_t max_body_bytes_;
  std::string node_id_;

  std::mutex write_mutex_;
  bool pull_indexes_ensured_ = false;  // under write_mutex_
  Poco::Data::Session write_session_;
  PocoBatchStorage poco_batch_storage_{write_session_, sql_};  // WriteStorage()'s default
  ReadSessionPool read_pool_;
};

}  // namespace fhirsync::store

#endif  // FHIRSYNC_STORE_POCO_LOCAL_STORE_H_
