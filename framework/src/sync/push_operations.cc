#include "fhirsync/push_operations.h"

#include <algorithm>
#include <set>
#include <utility>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync {
namespace {

bool IsOpen(const OutboxItem& item) {
  return item.state == kOutboxPending || item.state == kOutboxDead;
}

std::string KeyText(const std::string& type, const std::string& id) {
  return EscapeForMessage(type) + "/" + EscapeForMessage(id);
}

StatusOr<OutboxItem> FindItem(LocalStore& store, std::int64_t seq) {
  OutboxQuery query;
  query.after_seq = seq - 1;
  query.limit = 1;
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items, store.ListOutbox(query));
  if (items.empty() || items[0].seq != seq) {
    return NotFoundError("outbox item " + std::to_string(seq) + " does not exist");
  }
  return std::move(items[0]);
}

// The pending and dead items of one resource, ascending.
StatusOr<std::vector<OutboxItem>> OpenItems(LocalStore& store, const std::string& type,
                                            const std::string& id) {
  OutboxQuery query;
  query.type = type;
  query.id = id;
  query.states = {kOutboxPending, kOutboxDead};
  query.limit = 100000;
  return store.ListOutbox(query);
}

// The audit row the last push attempt of `correlation_id` wrote, or 0.
std::int64_t LastAttempt(LocalStore& store, const std::string& correlation_id) {
  AuditQuery query;
  query.correlation_id = correlation_id;
  StatusOr<std::vector<AuditRecord>> rows = store.QueryAudit(query);
  return rows.ok() && !rows->empty() ? rows->back().audit_id : 0;
}

AuditRecord Row(const std::string& operation, const std::string& outcome,
                const std::string& type, const std::string& id, const std::string& message,
                const std::string& actor) {
  AuditRecord row;
  row.operation = operation;
  row.outcome = outcome;
  row.type = type;
  row.id = id;
  row.message = message + (actor.empty() ? "" : " (by " + actor + ")");
  return row;
}

}  // namespace

PushOperations::PushOperations(LocalStore* store, const SyncResourceManager* routes,
                               std::string parent_node_id)
    : store_(store), routes_(routes), parent_node_id_(std::move(parent_node_id)) {
  if (parent_node_id_.empty()) parent_node_id_ = "parent";
}

StatusOr<OperatorActionResult> PushOperations::Retry(std::int64_t seq, bool force,
                                                     const std::string& actor) {
  FHIRSYNC_ASSIGN_OR_RETURN(OutboxItem item, FindItem(*store_, seq));
  if (!IsOpen(item)) {
    return FailedPreconditionError("outbox item " + std::to_string(seq) + " (" +
                                   KeyText(item.type, item.id) + ") is " + item.state +
                                   "; only pending or dead items can be retried");
  }
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items, OpenItems(*store_, item.type, item.id));
  PushRecord record;
  OperatorActionResult result;
  for (const OutboxItem& open : items) {
    OutboxTransition t;
    t.seq = open.seq;
    t.state = kOutboxPending;
    // An ambiguous item stays marked so: the push reads the parent's copy
    // back before sending it again.
    t.outcome = open.outcome == "ambiguous" ? "ambiguous" : "requeued";
    t.http_status = open.last_http_status;
    t.message = std::string(force ? "forced retry" : "retry") + " requested after: " +
                (open.message.empty() ? open.outcome : open.message);
    t.next_attempt_ms = 0;
    t.force = force;
    record.transitions.push_back(std::move(t));
    result.requeued.push_back(open.seq);
  }
  if (force) {
    // Overwriting the server settles the resource's open conflicts.
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<ConflictRecord> conflicts,
                              store_->ListConflicts(kConflictOpen, 100000));
    for (const ConflictRecord& conflict : conflicts) {
      if (conflict.type == item.type && conflict.id == item.id) {
        record.resolve_conflict_id = conflict.conflict_id;
        break;
      }
    }
  }
  record.pause = "";
  AuditRecord row = Row("retry", "requeued", item.type, item.id,
                        std::string(force ? "forced retry (no If-Match: the server copy will be "
                                            "overwritten)" : "retry") +
                            " of " + std::to_string(items.size()) + " item(s) from seq " +
                            std::to_string(seq),
                        actor);
  row.local_version = items.empty() ? item.version : items.back().version;
  row.correlation_id = item.correlation_id;
  row.retry_of = LastAttempt(*store_, item.correlation_id);
  record.audit.push_back(std::move(row));
  FHIRSYNC_RETURN_IF_ERROR(store_->RecordPush(record).status());
  result.local_version = item.version;
  result.message = "re-queued " + std::to_string(result.requeued.size()) + " item(s) of " +
                   KeyText(item.type, item.id) + (force ? " (forced)" : "");
  return result;
}

StatusOr<OperatorActionResult> PushOperations::RetryAll(bool force, const std::string& actor) {
  OutboxQuery query;
  query.states = {kOutboxDead};
  query.limit = 1000000;
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> dead, store_->ListOutbox(query));
  OperatorActionResult total;
  std::set<std::string> done;
  for (const OutboxItem& item : dead) {
    if (!done.insert(item.type + "/" + item.id).second) continue;
    FHIRSYNC_ASSIGN_OR_RETURN(OperatorActionResult one, Retry(item.seq, force, actor));
    total.requeued.insert(total.requeued.end(), one.requeued.begin(), one.requeued.end());
  }
  if (dead.empty()) {
    FHIRSYNC_ASSIGN_OR_RETURN(std::string pause, store_->PushPause());
    if (!pause.empty()) {
      PushRecord lift;
      lift.pause = "";
      lift.audit.push_back(Row("retry", "requeued", "", "", "push pause lifted: " + pause, actor));
      FHIRSYNC_RETURN_IF_ERROR(store_->RecordPush(lift).status());
    }
  }
  total.message = "re-queued " + std::to_string(total.requeued.size()) + " item(s) of " +
                  std::to_string(done.size()) + " resource(s)";
  return total;
}

StatusOr<OperatorActionResult> PushOperations::Discard(std::int64_t seq,
                                                       const std::string& actor) {
  FHIRSYNC_ASSIGN_OR_RETURN(OutboxItem item, FindItem(*store_, seq));
  if (!IsOpen(item)) {
    return FailedPreconditionError("outbox item " + std::to_string(seq) + " (" +
                                   KeyText(item.type, item.id) + ") is " + item.state +
                                   "; only pending or dead items can be discarded");
  }
  if (routes_ == nullptr) {
    return FailedPreconditionError("discard needs the parent (no transport is configured)");
  }
  FHIRSYNC_ASSIGN_OR_RETURN(Route route, routes_->Find(item.type, TransportOperation::kRead));
  ReadResult copy = route.transport->Read(item.type, item.id);
  const bool absent = copy.status.code() == StatusCode::kNotFound || copy.http_status == 404 ||
                      copy.http_status == 410;
  if (!copy.status.ok() && !absent) {
    return Status(copy.status.code() == StatusCode::kOk ? StatusCode::kUnavailable
                                                        : copy.status.code(),
                  "cannot read the parent's copy of " + KeyText(item.type, item.id) +
                      ", nothing was changed: " + copy.status.message());
  }
  FHIRSYNC_ASSIGN_OR_RETURN(Resource local, store_->Get(item.type, item.id));
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items, OpenItems(*store_, item.type, item.id));

  PushRecord record;
  record.parent_node_id = parent_node_id_;
  WriteOp restore;
  restore.type = item.type;
  restore.id = item.id;
  restore.format = local.format;
  restore.expected_version = local.version;
  const bool server_deleted = absent || copy.resource.deleted;
  if (server_deleted) {
    restore.kind = WriteOp::Kind::kDelete;
  } else {
    restore.body = copy.resource.body;
    SyncState agreed;
    agreed.type = item.type;
    agreed.id = item.id;
    agreed.remote_version = copy.resource.version;
    agreed.content_hash = ContentHashOf(copy.resource.format, copy.resource.body);
    record.agreed.push_back(agreed);
  }
  if (!(server_deleted && local.deleted)) record.server_copy = restore;
  OperatorActionResult result;
  for (const OutboxItem& open : items) {
    OutboxTransition t;
    t.seq = open.seq;
    t.state = kOutboxDiscarded;
    t.outcome = "discarded";
    t.http_status = open.last_http_status;
    t.message = "discarded by the operator; the server copy was restored";
    record.transitions.push_back(std::move(t));
    result.discarded.push_back(open.seq);
  }
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<ConflictRecord> conflicts,
                            store_->ListConflicts(kConflictOpen, 100000));
  for (const ConflictRecord& conflict : conflicts) {
    if (conflict.type == item.type && conflict.id == item.id) {
      record.resolve_conflict_id = conflict.conflict_id;
      break;
    }
  }
  AuditRecord row = Row("discard", "discarded", item.type, item.id,
                        "kept the server's " +
                            (server_deleted ? std::string("deletion")
                                            : "version " + copy.resource.version) +
                            "; discarded local version " + std::to_string(local.version) +
                            (local.deleted ? " (a deletion)" : ": " + local.body),
                        actor);
  row.remote_version = copy.resource.version;
  row.transport = route.plugin;
  row.correlation_id = item.correlation_id;
  row.retry_of = LastAttempt(*store_, item.correlation_id);
  record.audit.push_back(std::move(row));
  FHIRSYNC_ASSIGN_OR_RETURN(PushRecordResult done, store_->RecordPush(record));
  result.local_version = done.server_copy ? done.server_copy->version : local.version;
  result.message = "discarded " + std::to_string(result.discarded.size()) + " item(s) of " +
                   KeyText(item.type, item.id) + "; restored the server's " +
                   (server_deleted ? std::string("deletion")
                                   : "version " + copy.resource.version) +
                   " as local version " + std::to_string(result.local_version);
  return result;
}

StatusOr<OperatorActionResult> PushOperations::Resolve(std::int64_t conflict_id,
                                                       ConflictChoice choice,
                                                       const std::string& body,
                                                       const std::string& actor) {
  FHIRSYNC_ASSIGN_OR_RETURN(ConflictRecord conflict, store_->GetConflict(conflict_id));
  if (conflict.status != kConflictOpen) {
    return FailedPreconditionError("conflict " + std::to_string(conflict_id) + " is already " +
                                   conflict.status);
  }
  FHIRSYNC_ASSIGN_OR_RETURN(Resource local, store_->Get(conflict.type, conflict.id));
  if (choice == ConflictChoice::kBody) {
    FHIRSYNC_ASSIGN_OR_RETURN(ParsedBodyInfo info, InspectFhirBody(body));
    if (info.resource_type != conflict.type || (!info.id.empty() && info.id != conflict.id)) {
      return InvalidArgumentError("the merged body is " + EscapeForMessage(info.resource_type) +
                                  "/" + EscapeForMessage(info.id) + ", not " +
                                  KeyText(conflict.type, conflict.id));
    }
  }
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items,
                            OpenItems(*store_, conflict.type, conflict.id));
  const bool server_deleted = conflict.remote_body.empty();
  PushRecord record;
  record.parent_node_id = parent_node_id_;
  record.correlation_id = items.empty() ? std::string() : items.front().correlation_id;
  WriteOp server;
  server.type = conflict.type;
  server.id = conflict.id;
  server.format = local.format;
  server.expected_version = local.version;
  if (server_deleted) {
    server.kind = WriteOp::Kind::kDelete;
  } else {
    server.body = conflict.remote_body;
  }
  if (!(server_deleted && local.deleted)) record.server_copy = server;
  SyncState agreed;
  agreed.type = conflict.type;
  agreed.id = conflict.id;
  agreed.remote_version = conflict.remote_version;
  agreed.content_hash = server_deleted ? "" : ContentHashOf(local.format, conflict.remote_body);
  record.agreed.push_back(agreed);
  std::string taken;
  if (choice == ConflictChoice::kServer) {
    taken = "took the server's version " + conflict.remote_version + "; discarded local version " +
            std::to_string(local.version) + (local.deleted ? " (a deletion)" : ": " + local.body);
  } else {
    WriteOp mine;
    mine.type = conflict.type;
    mine.id = conflict.id;
    mine.format = local.format;
    if (choice == ConflictChoice::kLocal && local.deleted) {
      mine.kind = WriteOp::Kind::kDelete;
    } else {
      mine.body = choice == ConflictChoice::kLocal ? local.body : body;
    }
    record.local_write = mine;
    taken = choice == ConflictChoice::kLocal
                ? "took the local version " + std::to_string(local.version) +
                      ", queued over the server's version " + conflict.remote_version
                : "took the operator's merged body, queued over the server's version " +
                      conflict.remote_version;
  }
  OperatorActionResult result;
  for (const OutboxItem& open : items) {
    OutboxTransition t;
    t.seq = open.seq;
    t.state = choice == ConflictChoice::kServer ? kOutboxDiscarded : kOutboxReplaced;
    t.outcome = "resolved";
    t.http_status = open.last_http_status;
    t.message = "conflict " + std::to_string(conflict_id) + " resolved: " +
                (choice == ConflictChoice::kServer ? "server"
                 : choice == ConflictChoice::kLocal ? "local"
                                                    : "merged body");
    record.transitions.push_back(std::move(t));
    (choice == ConflictChoice::kServer ? result.discarded : result.requeued).push_back(open.seq);
  }
  record.resolve_conflict_id = conflict_id;
  AuditRecord row = Row("resolve", "resolved", conflict.type, conflict.id,
                        "conflict " + std::to_string(conflict_id) + ": " + taken, actor);
  row.remote_version = conflict.remote_version;
  row.correlation_id = record.correlation_id;
  record.audit.push_back(std::move(row));
  FHIRSYNC_ASSIGN_OR_RETURN(PushRecordResult done, store_->RecordPush(record));
  result.local_version = done.local_write && done.local_write->changed ? done.local_write->version
                         : done.server_copy ? done.server_copy->version
                                            : local.version;
  result.message = "conflict " + std::to_string(conflict_id) + " (" +
                   KeyText(conflict.type, conflict.id) + ") resolved: " + taken;
  return result;
}

StatusOr<ResubmitReport> PushOperations::Resubmit(std::int64_t from_ms, std::int64_t to_ms,
                                                  const std::string& actor) {
  if (from_ms >= to_ms) return InvalidArgumentError("resubmit: --from must be before --to");
  if (routes_ == nullptr) {
    return FailedPreconditionError("resubmit needs the parent (no transport is configured)");
  }
  ResubmitReport report;
  FHIRSYNC_ASSIGN_OR_RETURN(StoreStats stats, store_->Stats());
  constexpr std::int64_t kPage = 100;
  for (const TypeCount& type : stats.types) {
    for (std::int64_t offset = 0;; offset += kPage) {
      SearchQuery query;
      query.type = type.type;
      query.updated_from_ms = from_ms;
      query.updated_to_ms = to_ms;
      query.include_deleted = true;
      query.offset = offset;
      query.limit = kPage;
      FHIRSYNC_ASSIGN_OR_RETURN(SearchResult page, store_->Search(query));
      if (page.resources.empty()) break;
      std::vector<std::string> ids;
      for (const Resource& r : page.resources) ids.push_back(r.id);
      // One round trip per page where the transport reads many at once.
      std::vector<ReadResult> copies;
      StatusOr<Route> many = routes_->Find(type.type, TransportOperation::kReadMany);
      if (many.ok()) {
        ReadManyResult batch = many->transport->ReadMany(type.type, ids);
        if (!batch.status.ok()) {
          return Status(batch.status.code(), "resubmit: reading " + EscapeForMessage(type.type) +
                                                 " from the parent failed: " +
                                                 batch.status.message());
        }
        copies = std::move(batch.items);
      } else {
        FHIRSYNC_ASSIGN_OR_RETURN(Route read, routes_->Find(type.type, TransportOperation::kRead));
        for (const std::string& id : ids) copies.push_back(read.transport->Read(type.type, id));
      }
      if (copies.size() != ids.size()) {
        return InternalError("resubmit: the parent answered " + std::to_string(copies.size()) +
                             " results for " + std::to_string(ids.size()) + " ids");
      }
      PushRecord record;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const Resource& local = page.resources[i];
        const ReadResult& copy = copies[i];
        ++report.checked;
        const bool absent = copy.status.code() == StatusCode::kNotFound || copy.resource.deleted;
        if (!copy.status.ok() && !absent) {
          return Status(copy.status.code(), "resubmit: reading " + KeyText(local.type, local.id) +
                                                " from the parent failed: " +
                                                copy.status.message());
        }
        bool same = absent ? local.deleted
                           : !local.deleted && ContentHashOf(copy.resource.format,
                                                             copy.resource.body) ==
                                                   local.content_hash;
        if (same) {
          ++report.same;
          continue;
        }
        OutboxQuery mine;
        mine.type = local.type;
        mine.id = local.id;
        mine.limit = 100000;
        FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items, store_->ListOutbox(mine));
        auto it = std::find_if(items.begin(), items.end(),
                               [&](const OutboxItem& o) { return o.version == local.version; });
        if (it == items.end()) {
          report.not_local.push_back(local.Key());
          continue;
        }
        if (it->state == kOutboxPending) continue;  // already on its way
        OutboxTransition t;
        t.seq = it->seq;
        t.state = kOutboxPending;
        t.outcome = "resubmitted";
        t.message = absent ? "the parent lacks it" : "the parent holds a different version " +
                                                         copy.resource.version;
        record.transitions.push_back(std::move(t));
        AuditRecord row = Row("resubmit", "requeued", local.type, local.id,
                              "re-queued: " + record.transitions.back().message, actor);
        row.local_version = local.version;
        row.remote_version = copy.resource.version;
        row.correlation_id = it->correlation_id;
        record.audit.push_back(std::move(row));
        ++report.requeued;
      }
      if (!record.transitions.empty()) FHIRSYNC_RETURN_IF_ERROR(store_->RecordPush(record).status());
      if (static_cast<std::int64_t>(page.resources.size()) < kPage) break;
    }
  }
  return report;
}

}  // namespace fhirsync
