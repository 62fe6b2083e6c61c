#include "store/poco_local_store.h"

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Limit.h>

#include <algorithm>
#include <future>
#include <limits>
#include <utility>

#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"
#include "store/batch_writer.h"
#include "store/sql_values.h"
#include "store/write_planner.h"

namespace fhirsync::store {
namespace {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::use;

// No stored type or id holds a NUL byte (writes validate them), and libpq
// would cut a parameter at one, turning "p1\0x" into "p1": such keys are
// answered without asking the database.
bool HasNul(const std::string& text) { return text.find('\0') != std::string::npos; }

std::vector<std::string> WithoutNul(const std::vector<std::string>& values) {
  std::vector<std::string> kept;
  for (const std::string& value : values) {
    if (!HasNul(value)) kept.push_back(value);
  }
  return kept;
}

std::string KeyText(const std::string& type, const std::string& id) {
  return EscapeForMessage(type, 64) + "/" + EscapeForMessage(id, 70);
}

// The "resource columns" of store_sql.h, extracted into vectors.
struct ResourceColumns {
  std::vector<std::string> type;
  std::vector<std::string> id;
  std::vector<Poco::Int64> version;
  std::vector<Poco::Int64> last_updated_ms;
  std::vector<int> deleted;
  std::vector<std::string> format;
  std::vector<std::string> content_hash;
  std::vector<std::string> body;

  void BindTo(Statement& statement) {
    statement, into(type), into(id), into(version), into(last_updated_ms), into(deleted),
        into(format), into(content_hash), into(body);
  }
  std::size_t size() const { return type.size(); }
  Resource Take(std::size_t i) {
    Resource resource;
    resource.type = std::move(type[i]);
    resource.id = std::move(id[i]);
    resource.version = version[i];
    resource.last_updated_ms = last_updated_ms[i];
    resource.deleted = deleted[i] != 0;
    // Only this code writes the column, so an unknown name cannot occur.
    resource.format = ParseResourceFormat(format[i]).value_or(ResourceFormat::kFhirJson);
    resource.content_hash = std::move(content_hash[i]);
    resource.body = std::move(body[i]);
    return resource;
  }
};

}  // namespace

PocoLocalStore::PocoLocalStore(const StoreSql& sql, Poco::Data::Session write_session,
                               ReadSessionPool::Factory read_sessions,
                               std::size_t max_body_bytes)
    : sql_(sql),
      max_body_bytes_(max_body_bytes),
      write_session_(std::move(write_session)),
      read_pool_(std::move(read_sessions), kMaxReadSessions) {}

PocoLocalStore::~PocoLocalStore() {
  try {
    write_session_.close();
  } catch (const Poco::Exception&) {
    // Closing can only fail on a connection that is already gone.
  }
}

BatchStorage& PocoLocalStore::WriteStorage(Poco::Data::Session& /*write_session*/) {
  return poco_batch_storage_;
}

Status PocoLocalStore::Initialize(const std::string& node_id, const std::string& store_name) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  try {
    BeginWrite(write_session_);
    Poco::Int64 meta_tables = 0;
    write_session_ << sql_.count_meta_tables, into(meta_tables), Poco::Data::Keywords::now;
    std::string recorded_node;
    if (meta_tables == 0) {
      Poco::Int64 tables = 0;
      write_session_ << sql_.count_tables, into(tables), Poco::Data::Keywords::now;
      if (tables != 0) {
        RollbackQuietly();
        return DataLossError(store_name + " is not a fhirsync store: it holds " +
                             std::to_string(tables) + " tables but no meta table");
      }
      if (node_id.empty()) {
        RollbackQuietly();
        return InvalidArgumentError("a new store needs a node id");
      }
      for (const std::string& ddl : sql_.create_schema) {
        write_session_ << ddl, Poco::Data::Keywords::now;
      }
      MigrateLocked(1);
      std::string key = "schema_version";
      std::string value = std::to_string(kSchemaVersion);
      write_session_ << sql_.insert_meta, use(key), use(value), Poco::Data::Keywords::now;
      key = "node_id";
      value = node_id;
      write_session_ << sql_.insert_meta, use(key), use(value), Poco::Data::Keywords::now;
      recorded_node = node_id;
    } else {
      std::string key = "schema_version";
      std::string version_text;
      write_session_ << sql_.select_meta, use(key), into(version_text),
          Poco::Data::Keywords::now;
      int version = 0;
      try {
        version = std::stoi(version_text);
      } catch (const std::exception&) {
        version = 0;
      }
      if (version <= 0) {
        RollbackQuietly();
        return DataLossError(store_name + " is not a fhirsync store: schema_version '" +
                             EscapeForMessage(version_text) + "' is not a number");
      }
      if (version > kSchemaVersion) {
        RollbackQuietly();
        return FailedPreconditionError(store_name + " has schema version " +
                                       std::to_string(version) + ", newer than this build's " +
                                       std::to_string(kSchemaVersion) +
                                       "; use a newer fhirsync");
      }
      if (version < kSchemaVersion) {
        MigrateLocked(version);
        std::string value = std::to_string(kSchemaVersion);
        write_session_ << sql_.push->upsert_meta, use(key), use(value),
            Poco::Data::Keywords::now;
      }
      key = "node_id";
      write_session_ << sql_.select_meta, use(key), into(recorded_node),
          Poco::Data::Keywords::now;
      if (!node_id.empty() && node_id != recorded_node) {
        RollbackQuietly();
        return FailedPreconditionError(
            store_name + " belongs to node '" + EscapeForMessage(recorded_node) +
            "', not '" + EscapeForMessage(node_id) +
            "': local changes are recorded with that node id as their origin");
      }
    }
    CommitWrite(write_session_);
    node_id_ = recorded_node;
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    return TranslateException(error, "open " + store_name);
  }
  return Status::Ok();
}

void PocoLocalStore::RollbackQuietly() {
  try {
    RollbackWrite(write_session_);
  } catch (const Poco::Exception&) {
    // The transaction is already gone (the engine rolled it back itself, or
    // the connection dropped); either way nothing of it was committed.
  }
}

std::int64_t PocoLocalStore::ReadLastSeq(Poco::Data::Session& session) {
  Poco::Int64 value = 0;
  session << sql_.last_seq, into(value), Poco::Data::Keywords::now;
  return value;
}

std::int64_t PocoLocalStore::ReadLastSeqOn(const ReadSessionPool::Lease& lease) {
  return ReadLastSeq(lease.session());
}

StatusOr<std::vector<PreparedOp>> PocoLocalStore::PrepareBatch(std::span<const WriteOp> ops,
                                                                std::size_t first_index) const {
  std::vector<PreparedOp> prepared;
  prepared.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    StatusOr<PreparedOp> one = PrepareOp(ops[i], max_body_bytes_);
    if (!one.ok()) {
      return one.status().WithContext(EntryLabel(first_index + i, ops[i].type, ops[i].id));
    }
    prepared.push_back(std::move(one).value());
  }
  std::vector<std::string> correlation_ids = NewUuids(prepared.size());
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    prepared[i].correlation_id = std::move(correlation_ids[i]);
  }
  return prepared;
}

WriteContext PocoLocalStore::StartWriteContext(const WriteOptions& options) {
  WriteContext context;
  context.next_seq = ReadLastSeq(write_session_) + 1;
  context.now_ms = NowMillis();
  context.now_text = FormatInstant(context.now_ms);
  context.origin = options.from_node.empty() ? node_id_ : options.from_node;
  context.queue_outbox = options.from_node.empty();
  return context;
}

Status PocoLocalStore::ApplyChunkLocked(std::span<const WriteOp> ops,
                                        const std::vector<PreparedOp>& prepared,
                                        std::size_t first_index, WriteContext& context,
                                        std::vector<WriteResult>* results,
                                        ImportSummary* counts) {
  std::size_t index = 0;
  try {
    BatchStorage& storage = WriteStorage(write_session_);
    BatchWriter batch(storage);
    // SQLite: each resource looked up when its op comes, or assumed new;
    // PostgreSQL: the whole chunk in one query.
    if (storage.CanAddIfNew()) {
      batch.LookUpOnDemand();
    } else {
      batch.Prefetch(std::span<const PreparedOp>(prepared));
    }
    for (; index < prepared.size(); ++index) {
      StatusOr<WriteOutcome> outcome = ApplyPreparedOp(prepared[index], batch, context);
      if (!outcome.ok()) {
        return outcome.status().WithContext(
            EntryLabel(first_index + index, ops[index].type, prepared[index].id));
      }
      if (results != nullptr) results->push_back(ToWriteResult(prepared[index], *outcome));
      if (counts != nullptr) ++(outcome->changed ? counts->written : counts->unchanged);
    }
    batch.Flush();
  } catch (const Poco::Exception& error) {
    std::string what = "write";
    if (index < prepared.size()) {
      what += " of " + EntryLabel(first_index + index, ops[index].type, prepared[index].id);
    }
    return TranslateException(error, what);
  }
  return Status::Ok();
}

StatusOr<std::vector<WriteResult>> PocoLocalStore::Write(std::span<const WriteOp> ops,
                                                         const WriteOptions& options) {
  if (ops.empty()) return std::vector<WriteResult>();
  // Validated before taking the lock: it needs no database.
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<PreparedOp> prepared, PrepareBatch(ops, 0));
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::vector<WriteResult> results;
  results.reserve(ops.size());
  try {
    BeginWrite(write_session_);
    WriteContext context = StartWriteContext(options);
    Status applied = ApplyChunkLocked(ops, prepared, 0, context, &results);
    if (!applied.ok()) {
      RollbackQuietly();
      return applied;
    }
    CommitWrite(write_session_);
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    return TranslateException(error, "write");
  }
  return results;
}

StatusOr<ImportSummary> PocoLocalStore::Import(std::span<const WriteOp> ops,
                                               const WriteOptions& options,
                                               std::size_t batch_size) {
  if (batch_size == 0) batch_size = 1;
  ImportSummary summary;
  // Pipelined: while this thread writes chunk k, a second thread prepares
  // chunk k+1 (parse, validate, serialise, hash: pure work that needs no
  // database). Chunks are at most kImportChunk ops and never span two
  // batches, so a large batch (one transaction) is pipelined too. A chunk is
  // still written only after every earlier one, and a preparation error is
  // reported when its chunk's turn comes, so what is written and every
  // message are as without the pipeline.
  std::vector<std::pair<std::size_t, std::size_t>> chunks;  // (start, count)
  for (std::size_t start = 0; start < ops.size(); start += batch_size) {
    const std::size_t batch_end = std::min(ops.size(), start + batch_size);
    for (std::size_t chunk = start; chunk < batch_end;) {
      const std::size_t limit = chunks.empty() ? kImportFirstChunk : kImportChunk;
      chunks.emplace_back(chunk, std::min(limit, batch_end - chunk));
      chunk += chunks.back().second;
    }
  }
  // `written` is the chunk the writer has just written: it is freed here, on
  // the preparing thread, not on the writer's (the critical path).
  auto prepare = [this, ops](std::pair<std::size_t, std::size_t> chunk,
                             std::vector<PreparedOp> written) {
    written = {};
    return PrepareBatch(ops.subspan(chunk.first, chunk.second), chunk.first);
  };
  std::future<StatusOr<std::vector<PreparedOp>>> next;
  if (!chunks.empty()) {
    next = std::async(std::launch::async, prepare, chunks[0], std::vector<PreparedOp>());
  }
  std::size_t next_chunk = 0;
  std::vector<PreparedOp> spent;  // the last chunk written, until the next preparation frees it
  // The next chunk's preparation, and the one after it started. The
  // future's destructor waits for the thread, on every return path.
  auto take_next = [&](std::vector<PreparedOp> written) {
    StatusOr<std::vector<PreparedOp>> prepared = next.get();
    if (++next_chunk < chunks.size()) {
      next = std::async(std::launch::async, prepare, chunks[next_chunk], std::move(written));
    }
    return prepared;
  };
  for (std::size_t start = 0; start < ops.size(); start += batch_size) {
    const std::size_t count = std::min(batch_size, ops.size() - start);
    ImportSummary batch_summary;
    Status written = [&]() -> Status {
      // The batch's first chunk is awaited before the write lock is taken,
      // so other writers (and other processes) are not held up while it is
      // prepared, and a batch that fails preparation opens no transaction.
      std::size_t chunk_index = next_chunk;
      StatusOr<std::vector<PreparedOp>> prepared = take_next(std::move(spent));
      if (!prepared.ok()) return prepared.status();
      // Locked per batch so other writers get a turn during a long import.
      std::lock_guard<std::mutex> lock(write_mutex_);
      bool began = false;
      try {
        BeginWrite(write_session_);
        began = true;
        WriteContext context = StartWriteContext(options);
        while (true) {
          const auto [chunk_start, chunk_count] = chunks[chunk_index];
          Status applied = ApplyChunkLocked(ops.subspan(chunk_start, chunk_count), *prepared,
                                            chunk_start, context, nullptr, &batch_summary);
          if (!applied.ok()) {
            RollbackQuietly();
            return applied;
          }
          if (next_chunk >= chunks.size() || chunks[next_chunk].first >= start + count) break;
          chunk_index = next_chunk;
          prepared = take_next(std::move(*prepared));
          if (!prepared.ok()) {
            RollbackQuietly();
            return prepared.status();
          }
        }
        CommitWrite(write_session_);
        spent = std::move(*prepared);
      } catch (const Poco::Exception& error) {
        if (began) RollbackQuietly();
        return TranslateException(error, "write");
      }
      return Status::Ok();
    }();
    if (!written.ok()) {
      return written.WithContext(
          "import batch " + std::to_string(start / batch_size + 1) + " (entries " +
          std::to_string(start + 1) + "-" + std::to_string(start + count) +
          ") was not written; " + std::to_string(summary.written + summary.unchanged) +
          " earlier entries were");
    }
    summary.written += batch_summary.written;
    summary.unchanged += batch_summary.unchanged;
  }
  return summary;
}

StatusOr<Resource> PocoLocalStore::Get(const std::string& type, const std::string& id) {
  if (HasNul(type) || HasNul(id)) return NotFoundError(KeyText(type, id) + " does not exist");
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::optional<Resource> current = ReadCurrent(lease, type, id);
    if (!current) return NotFoundError(KeyText(type, id) + " does not exist");
    return std::move(*current);
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "get " + KeyText(type, id));
  }
}

std::optional<Resource> PocoLocalStore::ReadCurrent(const ReadSessionPool::Lease& lease,
                                                    const std::string& type,
                                                    const std::string& id) {
  ResourceColumns columns;
  std::string bound_type = type;
  std::string bound_id = id;
  Statement statement(lease.session());
  statement << sql_.get_current, use(bound_type), use(bound_id);
  columns.BindTo(statement);
  statement.execute();
  if (columns.size() == 0) return std::nullopt;
  return columns.Take(0);
}

StatusOr<Resource> PocoLocalStore::GetVersion(const std::string& type, const std::string& id,
                                              std::int64_t version) {
  if (HasNul(type) || HasNul(id)) {
    return NotFoundError(KeyText(type, id) + " has no version " + std::to_string(version));
  }
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    ResourceColumns columns;
    std::string bound_type = type;
    std::string bound_id = id;
    Poco::Int64 bound_version = version;
    Statement statement(lease.session());
    statement << sql_.get_version, use(bound_type), use(bound_id), use(bound_version);
    columns.BindTo(statement);
    statement.execute();
    if (columns.size() == 0) {
      return NotFoundError(KeyText(type, id) + " has no version " + std::to_string(version));
    }
    return columns.Take(0);
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "get " + KeyText(type, id));
  }
}

StatusOr<std::vector<Resource>> PocoLocalStore::History(const std::string& type,
                                                        const std::string& id) {
  if (HasNul(type) || HasNul(id)) return NotFoundError(KeyText(type, id) + " does not exist");
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    ResourceColumns columns;
    std::string bound_type = type;
    std::string bound_id = id;
    Statement statement(lease.session());
    statement << sql_.history, use(bound_type), use(bound_id);
    columns.BindTo(statement);
    statement.execute();
    if (columns.size() == 0) return NotFoundError(KeyText(type, id) + " does not exist");
    std::vector<Resource> versions;
    versions.reserve(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) versions.push_back(columns.Take(i));
    return versions;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "history of " + KeyText(type, id));
  }
}

StatusOr<std::vector<Change>> PocoLocalStore::Changes(const ChangeQuery& query) {
  if (query.limit < 0) return InvalidArgumentError("limit must not be negative");
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    int with_bodies = query.with_bodies ? 1 : 0;
    Poco::Int64 after_seq = query.after_seq;
    int has_types = query.types.empty() ? 0 : 1;
    std::string types = JsonStringArray(WithoutNul(query.types));
    Poco::Int64 since_ms = query.since_ms.value_or(std::numeric_limits<std::int64_t>::min());
    Poco::Int64 limit = query.limit;
    std::vector<Poco::Int64> seqs;
    std::vector<std::string> actions;
    std::vector<std::string> origins;
    ResourceColumns columns;
    Statement statement(lease.session());
    statement << sql_.changes, use(with_bodies), use(after_seq), use(has_types), use(types),
        use(since_ms), use(limit), into(seqs), into(actions), into(origins);
    columns.BindTo(statement);
    statement.execute();
    std::vector<Change> changes;
    changes.reserve(seqs.size());
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      Change change;
      change.seq = seqs[i];
      change.action = ChangeActionFromName(actions[i]);
      change.origin = std::move(origins[i]);
      change.resource = columns.Take(i);
      changes.push_back(std::move(change));
    }
    return changes;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read changes");
  }
}

StatusOr<std::int64_t> PocoLocalStore::LastSeq() {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    return ReadLastSeqOn(lease);
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the last seq");
  }
}

StatusOr<SearchResult> PocoLocalStore::Search(const SearchQuery& query) {
  if (query.limit < 0 || query.offset < 0) {
    return InvalidArgumentError("offset and limit must not be negative");
  }
  if (HasNul(query.type)) return SearchResult{};
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::string type = query.type;
    // No stored id holds a NUL; cut there, which keeps the byte order.
    std::string after_id = query.after_id.substr(0, query.after_id.find('\0'));
    int has_ids = query.ids.empty() ? 0 : 1;
    std::string ids = JsonStringArray(WithoutNul(query.ids));
    Poco::Int64 from_ms =
        query.updated_from_ms.value_or(std::numeric_limits<std::int64_t>::min());
    Poco::Int64 to_ms = query.updated_to_ms.value_or(std::numeric_limits<std::int64_t>::max());
    int include_deleted = query.include_deleted ? 1 : 0;
    Poco::Int64 limit = query.limit;
    Poco::Int64 offset = query.offset;

    SearchResult result;
    result.total = -1;
    if (query.with_total) {
      Poco::Int64 total = 0;
      lease.session() << sql_.search_count, use(type), use(after_id), use(has_ids), use(ids),
          use(from_ms), use(to_ms), use(include_deleted), into(total), Poco::Data::Keywords::now;
      result.total = total;
    }

    ResourceColumns columns;
    Statement statement(lease.session());
    statement << sql_.search, use(type), use(after_id), use(has_ids), use(ids), use(from_ms),
        use(to_ms), use(include_deleted), use(limit), use(offset);
    columns.BindTo(statement);
    statement.execute();
    result.resources.reserve(columns.size());
    for (std::size_t i = 0; i < columns.size(); ++i) result.resources.push_back(columns.Take(i));
    return result;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "search " + EscapeForMessage(query.type));
  }
}

StatusOr<StoreStats> PocoLocalStore::Stats() {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::vector<std::string> types;
    std::vector<Poco::Int64> live;
    std::vector<Poco::Int64> deleted;
    Poco::Int64 pending = 0;
    StoreStats stats;
    // One read transaction so the three figures agree with each other.
    lease.session().begin();
    lease.session() << sql_.stats, into(types), into(live), into(deleted),
        Poco::Data::Keywords::now;
    stats.last_seq = ReadLastSeq(lease.session());
    lease.session() << sql_.outbox_pending_count, into(pending), Poco::Data::Keywords::now;
    lease.session().commit();
    stats.outbox_pending = pending;
    for (std::size_t i = 0; i < types.size(); ++i) {
      stats.types.push_back(TypeCount{types[i], live[i], deleted[i]});
    }
    return stats;
  } catch (const Poco::Exception& error) {
    try {
      if (lease.session().isTransaction()) lease.session().rollback();
    } catch (const Poco::Exception&) {
      // Nothing was written in this read transaction.
    }
    return TranslateException(error, "read statistics");
  }
}

StatusOr<std::vector<OutboxItem>> PocoLocalStore::PendingOutbox(std::int64_t limit) {
  if (limit < 0) return InvalidArgumentError("limit must not be negative");
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    Poco::Int64 bound_limit = limit;
    std::vector<Poco::Int64> seqs;
    std::vector<std::string> types;
    std::vector<std::string> ids;
    std::vector<Poco::Int64> versions;
    std::vector<std::string> states;
    lease.session() << sql_.pending_outbox, use(bound_limit), into(seqs), into(types), into(ids),
        into(versions), into(states), Poco::Data::Keywords::now;
    std::vector<OutboxItem> items;
    items.reserve(seqs.size());
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      OutboxItem item;
      item.seq = seqs[i];
      item.type = std::move(types[i]);
      item.id = std::move(ids[i]);
      item.version = versions[i];
      item.state = std::move(states[i]);
      items.push_back(std::move(item));
    }
    return items;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the outbox");
  }
}

Status PocoLocalStore::CheckIntegrity() {
  // Under the writer lock, so the checks see one state that no writer (in
  // this or another process) is half-way through; nothing is written.
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::vector<std::string> problems;
  try {
    BeginWrite(write_session_);
    Poco::Int64 count = 0;
    if (!sql_.check_current_pointer.empty()) {
      write_session_ << sql_.check_current_pointer, into(count), Poco::Data::Keywords::now;
    }
    if (count != 0) {
      problems.push_back(std::to_string(count) +
                         " resources whose current pointer is not their newest change");
    }
    write_session_ << sql_.check_version_gaps, into(count), Poco::Data::Keywords::now;
    if (count != 0) {
      problems.push_back(std::to_string(count) +
                         " resources whose versions are not 1..n without a gap");
    }
    Poco::Int64 min_seq = 0;
    Poco::Int64 max_seq = 0;
    write_session_ << sql_.check_seq_range, into(count), into(min_seq), into(max_seq),
        Poco::Data::Keywords::now;
    if (count != 0 && (min_seq != 1 || max_seq != count)) {
      problems.push_back("seqs are not dense: " + std::to_string(count) + " changes span " +
                         std::to_string(min_seq) + ".." + std::to_string(max_seq));
    }
    std::string node = node_id_;
    write_session_ << sql_.check_missing_outbox, use(node), into(count),
        Poco::Data::Keywords::now;
    if (count != 0) {
      problems.push_back(std::to_string(count) + " local changes have no outbox row");
    }
    write_session_ << sql_.check_stray_outbox, use(node), into(count),
        Poco::Data::Keywords::now;
    if (count != 0) {
      problems.push_back(std::to_string(count) +
                         " outbox rows belong to no local change of the same version");
    }
    if (!sql_.engine_check.empty()) {
      std::vector<std::string> lines;
      write_session_ << sql_.engine_check, into(lines), Poco::Data::Keywords::now;
      if (!(lines.size() == 1 && lines[0] == "ok")) {
        std::string joined;
        for (std::size_t i = 0; i < lines.size() && i < 5; ++i) {
          joined += (i ? "; " : "") + EscapeForMessage(lines[i], 200);
        }
        problems.push_back("the database engine reports: " + joined);
      }
    }
    RollbackWrite(write_session_);
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    return TranslateException(error, "check integrity");
  }
  if (problems.empty()) return Status::Ok();
  std::string message = "store integrity check failed: ";
  for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  return DataLossError(message);
}

}  // namespace fhirsync::store
