// PocoLocalStore's pull side: applying a page of the parent's changes with
// the advanced cursor in one transaction, cursors and sync state (see
// local_store.h, "Pull").

#include <Poco/Data/Binding.h>
#include <Poco/Data/Extraction.h>
#include <Poco/Data/Statement.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <set>
#include <utility>

#include "fhirsync/base/text_util.h"
#include "store/batch_writer.h"
#include "store/poco_local_store.h"
#include "store/sql_values.h"
#include "store/write_planner.h"

namespace fhirsync::store {
namespace {

using Poco::Data::Statement;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

using Key = std::pair<std::string, std::string>;

std::string KeysJson(const std::set<Key>& keys) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const Key& key : keys) {
    writer.StartArray();
    writer.String(key.first.data(), static_cast<rapidjson::SizeType>(key.first.size()));
    writer.String(key.second.data(), static_cast<rapidjson::SizeType>(key.second.size()));
    writer.EndArray();
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ResourceLabel(const std::string& type, const std::string& id) {
  return EscapeForMessage(type, 64) + "/" + EscapeForMessage(id, 70);
}

// One version's body and flags, read inside the write transaction.
struct StoredVersion {
  std::int64_t version = 0;
  bool deleted = false;
  std::string body;
};

std::optional<StoredVersion> ReadStored(Poco::Data::Session& session, const std::string& sql,
                                        std::string type, std::string id,
                                        std::optional<Poco::Int64> version) {
  std::vector<std::string> types, ids, formats, hashes, bodies;
  std::vector<Poco::Int64> versions, updated;
  std::vector<int> deleted;
  Statement statement(session);
  statement << sql, use(type), use(id);
  if (version) statement, use(*version);
  statement, into(types), into(ids), into(versions), into(updated), into(deleted), into(formats),
      into(hashes), into(bodies);
  statement.execute();
  if (types.empty()) return std::nullopt;
  return StoredVersion{versions[0], deleted[0] != 0, std::move(bodies[0])};
}

}  // namespace

StatusOr<std::vector<PulledResult>> PocoLocalStore::ApplyPull(const PullPage& page) {
  if (page.parent_node_id.empty()) {
    return InvalidArgumentError("apply pull: the page names no parent node id");
  }
  if (page.feed.empty()) return InvalidArgumentError("apply pull: the page names no feed kind");
  if (page.parent_node_id == node_id_) {
    return InvalidArgumentError("apply pull: parent node id '" +
                                EscapeForMessage(page.parent_node_id) +
                                "' is this node's own id; a node cannot pull from itself");
  }
  for (const AuditRecord& record : page.audit) {
    if (record.operation.empty() || record.outcome.empty()) {
      return InvalidArgumentError("apply pull: an audit row needs an operation and an outcome");
    }
  }
  const PullSql& psql = *sql_.pull;
  const std::size_t n = page.resources.size();

  // Everything that needs no database first, so bad content costs nothing.
  std::vector<WriteOp> ops(n);
  std::vector<std::optional<PreparedOp>> prepared(n);
  std::vector<PulledResult> results(n);
  std::set<Key> keys;
  for (std::size_t i = 0; i < n; ++i) {
    const PulledResource& in = page.resources[i];
    PulledResult& out = results[i];
    out.type = in.type;
    out.id = in.id;
    out.remote_version = in.remote_version;
    WriteOp& op = ops[i];
    op.kind = in.deleted ? WriteOp::Kind::kDelete : WriteOp::Kind::kPut;
    op.type = in.type;
    op.id = in.id;
    op.format = in.format;
    op.body = in.deleted ? std::string() : in.body;
    if (in.id.empty()) {
      out.outcome = PullOutcome::kRejected;
      out.message = "the pulled resource has no id";
      continue;
    }
    StatusOr<PreparedOp> one = PrepareOp(op, max_body_bytes_);
    if (!one.ok()) {
      out.outcome = PullOutcome::kRejected;
      out.message = one.status().message();
      continue;
    }
    prepared[i] = std::move(one).value();
    keys.emplace(in.type, in.id);
  }

  std::vector<AuditRecord> audit = page.audit;
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::size_t index = 0;
  try {
    BeginWrite(write_session_);
    if (!pull_indexes_ensured_) {
      for (const std::string& ddl : psql.ensure_indexes) write_session_ << ddl, now;
    }
    const std::string keys_json = KeysJson(keys);
    std::map<Key, SyncState> agreed;
    {
      std::vector<std::string> types, ids, remote, hashes;
      std::vector<Poco::Int64> local, at;
      std::string bound = keys_json;
      write_session_ << psql.select_sync_state_many, use(bound), into(types), into(ids),
          into(remote), into(hashes), into(local), into(at), now;
      for (std::size_t i = 0; i < types.size(); ++i) {
        agreed[Key(types[i], ids[i])] =
            SyncState{types[i], ids[i], remote[i], hashes[i], local[i], at[i]};
      }
    }
    std::map<Key, std::int64_t> blocking;  // -> oldest pending/dead outbox seq
    {
      std::vector<std::string> types, ids;
      std::vector<Poco::Int64> seqs;
      std::string bound = keys_json;
      write_session_ << psql.select_blocking_outbox_many, use(bound), into(types), into(ids),
          into(seqs), now;
      for (std::size_t i = 0; i < types.size(); ++i) blocking[Key(types[i], ids[i])] = seqs[i];
    }
    std::map<Key, std::pair<std::int64_t, std::string>> open_conflicts;  // -> id, remote version
    {
      std::vector<Poco::Int64> conflict_ids;
      std::vector<std::string> types, ids, remote;
      std::string bound = keys_json;
      write_session_ << psql.select_open_conflicts_many, use(bound), into(conflict_ids),
          into(types), into(ids), into(remote), now;
      for (std::size_t i = 0; i < types.size(); ++i) {
        open_conflicts[Key(types[i], ids[i])] = {conflict_ids[i], remote[i]};
      }
    }

    BatchWriter batch(WriteStorage(write_session_));
    {
      std::vector<ResourceKey> keys;
      for (const auto& one : prepared) {
        if (one) keys.emplace_back(one->op->type, one->id);
      }
      batch.Prefetch(keys);
    }
    WriteContext context;
    context.next_seq = ReadLastSeq(write_session_) + 1;
    context.now_ms = NowMillis();
    context.origin = page.parent_node_id;
    context.queue_outbox = false;

    AgreementColumns agreements;
    for (index = 0; index < n; ++index) {
      const PulledResource& in = page.resources[index];
      PulledResult& out = results[index];
      AuditRecord row;
      row.operation = "pull-apply";
      row.type = in.type;
      row.id = in.id;
      row.remote_version = in.remote_version;
      row.transport = page.transport;
      if (!prepared[index]) {
        row.outcome = "rejected";
        row.message = out.message;
        audit.push_back(std::move(row));
        continue;
      }
      const Key key(in.type, in.id);
      auto agreement = agreed.find(key);
      if (agreement != agreed.end() &&
          !IsNewerRemoteVersion(in.remote_version, agreement->second.remote_version)) {
        out.outcome = PullOutcome::kSkipped;
        out.local_version = agreement->second.local_version;
        continue;
      }
      auto blocker = blocking.find(key);
      if (blocker != blocking.end()) {
        // architecture §5: a pull never overwrites a pending or dead-lettered local
        // change; the server copy is kept beside it and the change stays
        // queued. One open conflict per resource holds the newest copy.
        out.outcome = PullOutcome::kConflict;
        auto open = open_conflicts.find(key);
        if (open != open_conflicts.end()) {
          if (open->second.second == in.remote_version) {
            out.outcome = PullOutcome::kSkipped;
            out.message = "already kept as conflict " + std::to_string(open->second.first);
            continue;
          }
          std::string remote_version = in.remote_version;
          std::string remote_body = in.deleted ? std::string() : in.body;
          Poco::Int64 conflict_id = open->second.first;
          write_session_ << psql.update_conflict_remote, use(remote_version), use(remote_body),
              use(conflict_id), now;
          open->second.second = in.remote_version;
          out.message = "conflict " + std::to_string(conflict_id) + " now holds remote version " +
                        EscapeForMessage(in.remote_version, 40);
        } else {
          std::optional<StoredVersion> local =
              ReadStored(write_session_, sql_.get_current, in.type, in.id, std::nullopt);
          std::optional<StoredVersion> base;
          if (agreement != agreed.end() && agreement->second.local_version > 0) {
            base = ReadStored(write_session_, sql_.get_version, in.type, in.id,
                              agreement->second.local_version);
          }
          std::string type = in.type;
          std::string id = in.id;
          Poco::Int64 outbox_seq = blocker->second;
          Poco::Int64 base_version = base ? base->version : 0;
          std::string base_body = base ? base->body : std::string();
          Poco::Int64 local_version = local ? local->version : 0;
          std::string local_body = local ? local->body : std::string();
          std::string remote_version = in.remote_version;
          std::string remote_body = in.deleted ? std::string() : in.body;
          Poco::Int64 created_ms = context.now_ms;
          write_session_ << psql.insert_conflict, use(type), use(id), use(outbox_seq),
              use(base_version), use(base_body), use(local_version), use(local_body),
              use(remote_version), use(remote_body), use(created_ms), now;
          Poco::Int64 conflict_id = 0;
          write_session_ << psql.last_conflict_id, into(conflict_id), now;
          open_conflicts[key] = {conflict_id, in.remote_version};
          out.local_version = local_version;
          out.message = "kept as conflict " + std::to_string(conflict_id) +
                        " beside the local change seq " + std::to_string(outbox_seq);
        }
        row.outcome = "conflict";
        row.local_version = out.local_version;
        row.message = out.message;
        audit.push_back(std::move(row));
        continue;
      }

      StatusOr<WriteOutcome> written = ApplyPreparedOp(*prepared[index], batch, context);
      SyncState state;
      state.type = in.type;
      state.id = in.id;
      state.remote_version = in.remote_version;
      state.agreed_ms = context.now_ms;
      if (!written.ok()) {
        if (written.status().code() == StatusCode::kNotFound && in.deleted) {
          // The parent deleted something this node never held: nothing to
          // write, but remember the agreement so an older copy arriving later
          // is not resurrected.
          out.outcome = PullOutcome::kUnchanged;
        } else {
          out.outcome = PullOutcome::kRejected;
          out.message = written.status().message();
          row.outcome = "rejected";
          row.message = out.message;
          audit.push_back(std::move(row));
          continue;
        }
      } else {
        out.outcome = written->changed ? PullOutcome::kApplied : PullOutcome::kUnchanged;
        out.action = written->action;
        out.local_version = written->version;
        out.seq = written->seq;
        StatusOr<const CurrentVersion*> current = batch.Current(in.type, in.id, false);
        state.local_version = written->version;
        if (current.ok() && *current != nullptr) state.content_hash = (*current)->content_hash;
        row.outcome = std::string(PullOutcomeName(out.outcome));
        row.local_version = written->version;
        audit.push_back(std::move(row));
      }
      agreed[key] = state;
      agreements.Add(state);
    }
    batch.Flush();
    if (!agreements.type.empty()) {
      Statement upsert(write_session_);
      upsert << psql.upsert_sync_state, use(agreements.type), use(agreements.id),
          use(agreements.remote_version), use(agreements.content_hash),
          use(agreements.local_version), use(agreements.agreed_ms);
      upsert.execute();
    }
    {
      std::string parent = page.parent_node_id;
      std::string feed = page.feed;
      std::string position = page.position;
      Poco::Int64 updated_ms = context.now_ms;
      write_session_ << psql.upsert_cursor, use(parent), use(feed), use(position),
          use(updated_ms), now;
    }
    RecordPullContactLocked(page.completes_pull, context.now_ms);
    InsertAuditLocked(audit, context.now_ms);
    CommitWrite(write_session_);
    pull_indexes_ensured_ = true;
  } catch (const Poco::Exception& error) {
    RollbackQuietly();
    std::string what = "apply pull";
    if (index < n) {
      what += " of " + ResourceLabel(page.resources[index].type, page.resources[index].id);
    }
    return TranslateException(error, what);
  }
  return results;
}

StatusOr<std::optional<PullCursor>> PocoLocalStore::GetCursor(const std::string& parent_node_id) {
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::string parent = parent_node_id;
    std::vector<std::string> feed, position;
    std::vector<Poco::Int64> updated;
    lease.session() << sql_.pull->select_cursor, use(parent), into(feed), into(position),
        into(updated), now;
    if (feed.empty()) return std::optional<PullCursor>();
    return std::optional<PullCursor>(
        PullCursor{parent_node_id, std::move(feed[0]), std::move(position[0]), updated[0]});
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read the cursor of " + EscapeForMessage(parent_node_id));
  }
}

StatusOr<std::vector<SyncState>> PocoLocalStore::GetSyncStates(
    std::span<const std::pair<std::string, std::string>> keys) {
  std::vector<SyncState> states;
  if (keys.empty()) return states;
  std::set<Key> unique(keys.begin(), keys.end());
  ReadSessionPool::Lease lease = read_pool_.Acquire();
  try {
    std::string bound = KeysJson(unique);
    std::vector<std::string> types, ids, remote, hashes;
    std::vector<Poco::Int64> local, at;
    lease.session() << sql_.pull->select_sync_state_many, use(bound), into(types), into(ids),
        into(remote), into(hashes), into(local), into(at), now;
    states.reserve(types.size());
    for (std::size_t i = 0; i < types.size(); ++i) {
      states.push_back(SyncState{std::move(types[i]), std::move(ids[i]), std::move(remote[i]),
                                 std::move(hashes[i]), local[i], at[i]});
    }
    return states;
  } catch (const Poco::Exception& error) {
    return TranslateException(error, "read sync state");
  }
}

}  // namespace fhirsync::store
