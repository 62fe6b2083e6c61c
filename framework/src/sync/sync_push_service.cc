#include "fhirsync/sync_push_service.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/plugin/abi.h"
#include "sync/json_merge.h"

namespace fhirsync {
namespace {

std::int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One resource's due items and what is sent for them.
struct Group {
  std::vector<OutboxItem> items;  // ascending seq; back() is the version sent
  std::optional<SyncState> agreed;
  TransportOperation operation = TransportOperation::kUpdate;
  std::string expected_version;
  Route route;
  std::int64_t previous_audit = 0;  // the attempt this one retries
  const OutboxItem& latest() const { return items.back(); }
  const OutboxItem& first() const { return items.front(); }
};

std::string Key(const std::string& type, const std::string& id) { return type + "/" + id; }

// What an outbox row, a dead letter or an audit row stores for `outcome`.
std::string Name(PushOutcome outcome) { return std::string(PushOutcomeName(outcome)); }

}  // namespace

std::string_view PushOutcomeName(PushOutcome outcome) {
  switch (outcome) {
    case PushOutcome::kAccepted: return "accepted";
    case PushOutcome::kConflict: return "conflict";
    case PushOutcome::kBusinessRule: return "business-rule";
    case PushOutcome::kInvalid: return "invalid";
    case PushOutcome::kNotFound: return "not-found";
    case PushOutcome::kGone: return "gone";
    case PushOutcome::kAuth: return "auth";
    case PushOutcome::kTransient: return "transient";
  }
  return "transient";
}

PushOutcome ClassifyPushAnswer(const Status& status, int http_status) {
  if (http_status >= 200 && http_status < 300 && status.ok()) return PushOutcome::kAccepted;
  if (http_status == 409 || http_status == 412) return PushOutcome::kConflict;
  if (http_status == 422) return PushOutcome::kBusinessRule;
  if (http_status == 400) return PushOutcome::kInvalid;
  if (http_status == 404) return PushOutcome::kNotFound;
  if (http_status == 410) return PushOutcome::kGone;
  if (http_status == 401 || http_status == 403) return PushOutcome::kAuth;
  if (http_status >= 500 || http_status == 408 || http_status == 429) {
    return PushOutcome::kTransient;
  }
  switch (status.code()) {
    case StatusCode::kOk: return PushOutcome::kAccepted;
    case StatusCode::kAborted:
    case StatusCode::kAlreadyExists: return PushOutcome::kConflict;
    case StatusCode::kNotFound: return PushOutcome::kNotFound;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return PushOutcome::kAuth;
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnimplemented:
    case StatusCode::kOutOfRange: return PushOutcome::kInvalid;
    case StatusCode::kFailedPrecondition: return PushOutcome::kBusinessRule;
    default: return PushOutcome::kTransient;
  }
}

std::int64_t PushBackoffMs(int attempt, std::int64_t base_ms, std::int64_t max_ms, double unit) {
  double delay = static_cast<double>(base_ms);
  for (int i = 1; i < attempt && delay < static_cast<double>(max_ms); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(max_ms));
  return static_cast<std::int64_t>(delay * (0.5 + 0.5 * std::clamp(unit, 0.0, 1.0)));
}

class SyncPushService::Impl {
 public:
  Impl(LocalStore* store, const SyncResourceManager* routes, PushOptions options)
      : store_(store), routes_(routes), options_(std::move(options)), random_(std::random_device{}()) {
    if (!options_.clock) options_.clock = SystemNowMs;
    if (options_.batch_size < 1) options_.batch_size = 1;
    if (options_.max_attempts < 1) options_.max_attempts = 1;
  }

  StatusOr<PushReport> RunOnce() {
    PushReport report;
    FHIRSYNC_ASSIGN_OR_RETURN(std::string pause, store_->PushPause());
    if (!pause.empty()) {
      if (!options_.resume_paused) {
        report.paused = true;
        report.pause_message = pause;
        return report;
      }
      PushRecord lift;
      lift.pause = "";
      lift.audit.push_back(Audit("resume", "", "", "ok", 0, "pushing resumed after: " + pause));
      FHIRSYNC_RETURN_IF_ERROR(Record(lift).status());
    }
    options_.resume_paused = false;  // lifted once per service, not every round

    OutboxQuery query;
    query.due_at_ms = options_.clock();
    query.with_bodies = true;
    // One round reads no more items than it may send: a resource with
    // several waiting changes takes several of them, and what is left waits
    // for the next round, in order.
    query.limit = options_.batch_size;
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items, store_->ListOutbox(query));
    if (items.empty()) {
      report.idle = true;
      return report;
    }
    std::vector<Group> groups;
    std::map<std::string, std::size_t> index;
    for (OutboxItem& item : items) {
      std::string key = Key(item.type, item.id);
      auto it = index.find(key);
      if (it == index.end()) {
        if (groups.size() >= static_cast<std::size_t>(options_.batch_size)) continue;
        index.emplace(key, groups.size());
        groups.emplace_back();
        groups.back().items.push_back(std::move(item));
      } else {
        groups[it->second].items.push_back(std::move(item));
      }
    }

    // What was last agreed with the parent about each resource, in one
    // read rather than one per resource.
    std::vector<std::pair<std::string, std::string>> keys;
    keys.reserve(groups.size());
    for (const Group& group : groups) keys.emplace_back(group.latest().type, group.latest().id);
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<SyncState> agreements, store_->GetSyncStates(keys));
    for (SyncState& agreed : agreements) {
      auto it = index.find(Key(agreed.type, agreed.id));
      if (it != index.end()) groups[it->second].agreed = std::move(agreed);
    }

    // Decide what to send for each resource.
    std::vector<Group*> ready;
    for (Group& group : groups) {
      if (group.first().attempts > 0) {
        AuditQuery previous;
        previous.correlation_id = group.first().correlation_id;
        previous.operation = "push";
        FHIRSYNC_ASSIGN_OR_RETURN(std::vector<AuditRecord> rows, store_->QueryAudit(previous));
        if (!rows.empty()) group.previous_audit = rows.back().audit_id;
      }
      if (group.latest().action == ChangeAction::kDelete) {
        if (!group.agreed) {  // made and deleted here before the parent ever saw it
          FHIRSYNC_RETURN_IF_ERROR(RecordLocalOnly(group));
          continue;
        }
        group.operation = TransportOperation::kDelete;
      } else {
        // A forced retry overwrites whatever the parent holds (an update
        // without If-Match; a 404 then turns it into a create).
        group.operation = group.agreed || group.latest().force ? TransportOperation::kUpdate
                                                               : TransportOperation::kCreate;
      }
      if (group.agreed && !group.latest().force) group.expected_version = group.agreed->remote_version;
      StatusOr<Route> route = routes_->Find(group.latest().type, group.operation);
      if (!route.ok()) {
        // A type this node's plugins do not carry is the node's own
        // configuration to mend, not data the parent found invalid.
        const char* klass = IsNoRouteError(route.status()) ? "configuration" : "invalid";
        FHIRSYNC_RETURN_IF_ERROR(DeadLetter(group, klass, 0, route.status().message(), report));
        continue;
      }
      group.route = *route;
      if (group.first().outcome == "ambiguous") {
        // The last attempt may have reached the parent: look before sending.
        FHIRSYNC_ASSIGN_OR_RETURN(bool settled, SettleAmbiguous(group, report));
        if (settled) continue;
      }
      ready.push_back(&group);
    }

    // Send, batched per plugin.
    std::map<std::string, std::vector<Group*>> batches;
    for (Group* group : ready) batches[group->route.plugin].push_back(group);
    for (auto& [plugin, members] : batches) {
      std::vector<WriteRequest> requests;
      for (Group* group : members) requests.push_back(RequestFor(*group, group->operation));
      std::vector<RemoteWriteResult> results;
      if (members.size() > 1 && SupportsWriteMany(plugin)) {
        results = members.front()->route.transport->WriteMany(requests);
        ++report.requests;
      } else {
        for (std::size_t i = 0; i < members.size(); ++i) {
          results.push_back(SendOne(*members[i], requests[i]));
          ++report.requests;
        }
      }
      if (results.size() != members.size()) {
        RemoteWriteResult broken;
        broken.status = InternalError("transport " + plugin + " answered " +
                                      std::to_string(results.size()) + " results for " +
                                      std::to_string(members.size()) + " writes");
        results.assign(members.size(), broken);
      }
      // Accepted ones are recorded together in one transaction.
      PushRecord accepted;
      for (std::size_t i = 0; i < members.size(); ++i) {
        Group& group = *members[i];
        const RemoteWriteResult& result = results[i];
        PushOutcome outcome = ClassifyPushAnswer(result.status, result.http_status);
        if (outcome == PushOutcome::kNotFound && group.operation == TransportOperation::kDelete) {
          outcome = PushOutcome::kAccepted;  // already absent upstream: the delete holds
        }
        if (outcome == PushOutcome::kAccepted) {
          AddAccepted(group, result, accepted);
          ++report.sent;
          continue;
        }
        if (report.paused) {
          continue;  // after a 401/403 nothing else of this round is judged
        }
        FHIRSYNC_RETURN_IF_ERROR(Handle(group, result, outcome, report));
      }
      if (!accepted.transitions.empty()) {
        FHIRSYNC_RETURN_IF_ERROR(Record(accepted).status());
      }
    }
    return report;
  }

  StatusOr<PushReport> RunUntilIdle(int max_rounds) {
    PushReport total;
    for (int round = 0; round < max_rounds; ++round) {
      FHIRSYNC_ASSIGN_OR_RETURN(PushReport report, RunOnce());
      total.sent += report.sent;
      total.merged += report.merged;
      total.conflicts += report.conflicts;
      total.dead_lettered += report.dead_lettered;
      total.retrying += report.retrying;
      total.requests += report.requests;
      if (report.paused) {
        total.paused = true;
        total.pause_message = report.pause_message;
        return total;
      }
      if (report.idle) {
        total.idle = true;
        return total;
      }
    }
    return total;
  }

 private:
  AuditRecord Audit(const std::string& operation, const std::string& type, const std::string& id,
                    const std::string& outcome, int http_status, const std::string& message) {
    AuditRecord row;
    row.operation = operation;
    row.type = type;
    row.id = id;
    row.outcome = outcome;
    row.http_status = http_status;
    row.message = message;
    return row;
  }

  AuditRecord GroupAudit(const Group& group, const std::string& outcome, int http_status,
                         const std::string& message, const std::string& remote_version = {}) {
    AuditRecord row = Audit("push", group.latest().type, group.latest().id, outcome, http_status,
                            message);
    row.local_version = group.latest().version;
    row.remote_version = remote_version;
    row.transport = group.route.plugin;
    row.retry_of = group.previous_audit;
    row.correlation_id = group.first().correlation_id;
    return row;
  }

  bool SupportsWriteMany(const std::string& plugin) const {
    for (const PluginDescription& description : routes_->plugins()) {
      // A plugin built before ABI minor 1 has no WriteMany in its vtable.
      if (description.info.name == plugin) {
        return description.info.file.empty() || description.info.abi_minor >= 1;
      }
    }
    return false;
  }

  WriteRequest RequestFor(const Group& group, TransportOperation operation) const {
    WriteRequest request;
    request.operation = operation;
    request.resource.type = group.latest().type;
    request.resource.id = group.latest().id;
    request.resource.format = FormatOfType(group.latest().type).value_or(ResourceFormat::kFhirJson);
    request.resource.body = group.latest().body;
    request.resource.deleted = operation == TransportOperation::kDelete;
    request.expected_version = operation == TransportOperation::kCreate ? "" : group.expected_version;
    return request;
  }

  RemoteWriteResult SendOne(const Group& group, const WriteRequest& request) {
    auto& transport = *group.route.transport;
    switch (request.operation) {
      case TransportOperation::kCreate: return transport.Create(request.resource);
      case TransportOperation::kDelete:
        return transport.Delete(request.resource.type, request.resource.id,
                                request.expected_version);
      default: return transport.Update(request.resource, request.expected_version);
    }
  }

  std::vector<OutboxTransition> Transitions(const Group& group, const std::string& state,
                                            const std::string& outcome, int http_status,
                                            const std::string& message,
                                            std::int64_t next_attempt_ms = 0,
                                            bool count_attempt = true) {
    std::vector<OutboxTransition> transitions;
    for (const OutboxItem& item : group.items) {
      OutboxTransition t;
      t.seq = item.seq;
      t.state = state;
      t.count_attempt = count_attempt;
      t.http_status = http_status;
      t.outcome = outcome;
      t.message = message;
      t.next_attempt_ms = next_attempt_ms;
      if (state == kOutboxSent) t.force = false;
      transitions.push_back(std::move(t));
    }
    return transitions;
  }

  void AddAccepted(const Group& group, const RemoteWriteResult& result, PushRecord& record) {
    for (OutboxTransition& t :
         Transitions(group, kOutboxSent, Name(PushOutcome::kAccepted), result.http_status,
                     result.operation_outcome)) {
      record.transitions.push_back(std::move(t));
    }
    SyncState agreed;
    agreed.type = group.latest().type;
    agreed.id = group.latest().id;
    agreed.remote_version = result.version;
    agreed.content_hash = group.latest().content_hash;
    agreed.local_version = group.latest().version;
    record.agreed.push_back(std::move(agreed));
    record.audit.push_back(GroupAudit(group, Name(PushOutcome::kAccepted), result.http_status,
                                      group.first().attempts > 0
                                          ? "accepted after " + std::to_string(group.first().attempts) +
                                                " earlier attempts"
                                          : "accepted",
                                      result.version));
  }

  Status RecordLocalOnly(const Group& group) {
    PushRecord record;
    record.transitions = Transitions(group, kOutboxSent, "local-only", 0,
                                     "created and deleted before the parent saw it", 0, false);
    record.audit.push_back(GroupAudit(group, "local-only", 0,
                                      "created and deleted here before it was ever pushed; "
                                      "nothing to send"));
    return Record(record).status();
  }

  Status DeadLetter(const Group& group, const std::string& outcome, int http_status,
                    const std::string& message, PushReport& report) {
    PushRecord record;
    record.transitions = Transitions(group, kOutboxDead, outcome, http_status, message);
    record.audit.push_back(GroupAudit(group, outcome, http_status, "dead letter: " + message));
    ++report.dead_lettered;
    return Record(record).status();
  }

  std::string MessageOf(const RemoteWriteResult& result) {
    std::string message = result.status.message();
    if (!result.operation_outcome.empty() &&
        message.find(result.operation_outcome) == std::string::npos) {
      message += (message.empty() ? "" : ": ") + result.operation_outcome;
    }
    return message;
  }

  Status Handle(Group& group, const RemoteWriteResult& result, PushOutcome outcome,
                PushReport& report) {
    const std::string message = MessageOf(result);
    if (outcome == PushOutcome::kConflict) {
      return HandleConflict(group, result.http_status, message, report);
    }
    if (outcome == PushOutcome::kNotFound && group.operation == TransportOperation::kUpdate) {
      // The parent lost it (or never had it): create it at the same id.
      StatusOr<Route> create = routes_->Find(group.latest().type, TransportOperation::kCreate);
      if (!create.ok()) {
        return DeadLetter(group, Name(PushOutcome::kNotFound), result.http_status,
                          message + "; and no transport creates " + group.latest().type, report);
      }
      group.route = *create;
      group.operation = TransportOperation::kCreate;
      RemoteWriteResult created = create->transport->Create(RequestFor(group, TransportOperation::kCreate).resource);
      ++report.requests;
      const PushOutcome created_outcome = ClassifyPushAnswer(created.status, created.http_status);
      if (created_outcome == PushOutcome::kAccepted) {
        PushRecord record;
        AddAccepted(group, created, record);
        record.audit.back().message = "the parent had no such resource (HTTP " +
                                      std::to_string(result.http_status) +
                                      "); created it at the same id";
        ++report.sent;
        return Record(record).status();
      }
      if (created_outcome == PushOutcome::kNotFound) {
        return DeadLetter(group, Name(PushOutcome::kNotFound), created.http_status,
                          MessageOf(created), report);
      }
      return Handle(group, created, created_outcome, report);
    }
    if (outcome == PushOutcome::kAuth) {
      PushRecord record;
      record.transitions =
          Transitions(group, kOutboxPending, Name(PushOutcome::kAuth), result.http_status, message);
      record.pause = "HTTP " + std::to_string(result.http_status) + ": " + message;
      record.audit.push_back(GroupAudit(group, Name(PushOutcome::kAuth), result.http_status,
                                        "pushing paused until an operator acts: " + message));
      report.paused = true;
      report.pause_message = *record.pause;
      return Record(record).status();
    }
    if (outcome == PushOutcome::kTransient) {
      const int attempts = group.first().attempts + 1;
      const std::string klass = result.ambiguous ? "ambiguous" : Name(PushOutcome::kTransient);
      if (attempts >= options_.max_attempts) {
        return DeadLetter(group, klass, result.http_status,
                          "gave up after " + std::to_string(attempts) + " attempts: " + message,
                          report);
      }
      double unit;
      {
        std::lock_guard<std::mutex> lock(random_mutex_);
        unit = std::uniform_real_distribution<double>(0.0, 1.0)(random_);
      }
      std::int64_t next = options_.clock() +
                          PushBackoffMs(attempts, options_.backoff_base_ms, options_.backoff_max_ms, unit);
      PushRecord record;
      record.transitions = Transitions(group, kOutboxPending, klass, result.http_status, message, next);
      record.audit.push_back(GroupAudit(group, klass, result.http_status,
                                        "attempt " + std::to_string(attempts) + " of " +
                                            std::to_string(options_.max_attempts) +
                                            " failed, retry after " + TimeText(next) + ": " + message));
      ++report.retrying;
      return Record(record).status();
    }
    // business-rule, invalid, gone, not-found of a create.
    return DeadLetter(group, std::string(PushOutcomeName(outcome)), result.http_status, message,
                      report);
  }

  static std::string TimeText(std::int64_t ms) { return FormatInstant(ms); }

  // After an ambiguous failure: true when the server copy settles the item
  // (it already holds our version, or it moved and the conflict path took
  // over); false to send as planned.
  StatusOr<bool> SettleAmbiguous(Group& group, PushReport& report) {
    StatusOr<Route> read = routes_->Find(group.latest().type, TransportOperation::kRead);
    if (!read.ok()) return false;
    ReadResult copy = read->transport->Read(group.latest().type, group.latest().id);
    ++report.requests;
    const PushOutcome outcome = ClassifyPushAnswer(copy.status, copy.http_status);
    if (outcome == PushOutcome::kTransient || outcome == PushOutcome::kAuth) {
      RemoteWriteResult failed;
      static_cast<CallOutcome&>(failed) = copy;
      failed.ambiguous = true;  // still unknown whether it landed
      FHIRSYNC_RETURN_IF_ERROR(Handle(group, failed, outcome, report));
      return true;
    }
    const bool want_deleted = group.operation == TransportOperation::kDelete;
    if (outcome == PushOutcome::kNotFound) {
      if (want_deleted) {
        PushRecord record;
        RemoteWriteResult done;
        done.http_status = copy.http_status;
        AddAccepted(group, done, record);
        record.audit.back().message = "the lost delete had reached the parent";
        ++report.sent;
        FHIRSYNC_RETURN_IF_ERROR(Record(record).status());
        return true;
      }
      return false;  // it did not land; send again (a create or update)
    }
    if (!copy.status.ok()) return false;
    if (!want_deleted && HoldsOurContent(group, copy)) {
      FHIRSYNC_RETURN_IF_ERROR(RecordAgreement(
          group, copy, 0, "the lost write had reached the parent (version " +
                           copy.resource.version + "); not sent again",
          report));
      return true;
    }
    if (group.agreed && copy.resource.version == group.agreed->remote_version) return false;
    if (group.operation == TransportOperation::kCreate && !copy.resource.deleted) {
      // Our create did not land as it is, and the parent holds something
      // else at the id: another node's create (or an edit of ours). Sending
      // it again could only be refused (If-None-Match), or replace theirs
      // on a remote that ignores the precondition: a conflict instead.
      FHIRSYNC_RETURN_IF_ERROR(
          MergeWith(group, copy, 0, "the parent holds another copy of this new resource", report));
      return true;
    }
    if (!group.agreed) return false;
    // The parent moved on meanwhile: treat as a version conflict.
    FHIRSYNC_RETURN_IF_ERROR(MergeWith(group, copy, 0, "the server copy changed", report));
    return true;
  }

  // Whether the parent's copy is live and holds exactly the content we send
  // (by content hash: versions and meta stamps are per node).
  static bool HoldsOurContent(const Group& group, const ReadResult& copy) {
    const OutboxItem& local = group.latest();
    return local.action != ChangeAction::kDelete && !copy.resource.deleted &&
           ContentHashOf(copy.resource.format, copy.resource.body) == local.content_hash;
  }

  // The parent already holds our content (a lost answer, or another node
  // that wrote the same, e.g. both imported one file): the item is
  // delivered and the parent's version is what we agree on; nothing is sent.
  // `http_status`: the write's answer that led here (the 412), else 0 for
  // the read-back's.
  Status RecordAgreement(const Group& group, const ReadResult& copy, int http_status,
                         const std::string& message, PushReport& report) {
    PushRecord record;
    RemoteWriteResult done;
    done.http_status = http_status != 0 ? http_status : copy.http_status;
    done.version = copy.resource.version;
    AddAccepted(group, done, record);
    record.audit.back().message = message;
    ++report.sent;
    return Record(record).status();
  }

  Status HandleConflict(Group& group, int http_status, const std::string& message,
                        PushReport& report) {
    StatusOr<Route> read = routes_->Find(group.latest().type, TransportOperation::kRead);
    if (!read.ok()) {
      return DeadLetter(group, Name(PushOutcome::kConflict), http_status,
                        message + "; the server copy cannot be read: " + read.status().message(),
                        report);
    }
    ReadResult copy = read->transport->Read(group.latest().type, group.latest().id);
    ++report.requests;
    const PushOutcome read_outcome = ClassifyPushAnswer(copy.status, copy.http_status);
    if (read_outcome == PushOutcome::kTransient || read_outcome == PushOutcome::kAuth) {
      RemoteWriteResult failed;
      static_cast<CallOutcome&>(failed) = copy;
      return Handle(group, failed, read_outcome, report);
    }
    if (read_outcome == PushOutcome::kNotFound || read_outcome == PushOutcome::kGone) {
      copy.resource.type = group.latest().type;
      copy.resource.id = group.latest().id;
      copy.resource.deleted = true;
      copy.resource.body.clear();
    } else if (!copy.status.ok()) {
      return DeadLetter(group, Name(PushOutcome::kConflict), http_status,
                        message + "; reading the server copy failed: " + copy.status.message(),
                        report);
    }
    return MergeWith(group, copy, http_status, message, report);
  }

  // Three-way merge of our version with the server copy from the base
  // (sync_state's local version).
  Status MergeWith(Group& group, const ReadResult& copy, int http_status,
                   const std::string& message, PushReport& report) {
    const OutboxItem& local = group.latest();
    std::string base_body;
    std::int64_t base_version = 0;
    if (group.agreed && group.agreed->local_version > 0) {
      StatusOr<Resource> base = store_->GetVersion(local.type, local.id, group.agreed->local_version);
      if (base.ok()) {
        base_body = base->body;
        base_version = base->version;
      }
    }
    if (HoldsOurContent(group, copy)) {
      return RecordAgreement(group, copy, http_status,
                             (message.empty() ? std::string() : message + "; ") +
                                 "the parent already holds the same content (version " +
                                 copy.resource.version + "): agreed on it, nothing sent",
                             report);
    }
    // A create the parent refused because it holds the id already: another
    // node created a resource with the same id (host-given ids such as an
    // MRN), and there is no version both sides started from.
    const bool both_created = !group.agreed && base_body.empty();
    std::vector<std::string> conflicts;
    std::string merged;
    const bool server_deleted = copy.resource.deleted;
    const bool local_deleted = local.action == ChangeAction::kDelete;
    if (server_deleted && local_deleted) {
      merged.clear();  // both deleted: agree on the deletion
    } else if (server_deleted || local_deleted) {
      conflicts.push_back(server_deleted ? "(deleted on the parent, changed here)"
                                         : "(deleted here, changed on the parent)");
    } else if (base_body.empty()) {
      conflicts.push_back(both_created ? "(created here and on the parent with the same id)"
                                       : "(no common base version)");
    } else {
      StatusOr<sync::JsonMergeResult> result = sync::MergeJson(base_body, local.body, copy.resource.body);
      if (!result.ok()) {
        conflicts.push_back("(cannot merge: " + result.status().message() + ")");
      } else if (!result->clean) {
        conflicts = result->conflicts;
      } else {
        merged = result->merged;
      }
    }
    if (!conflicts.empty()) {
      std::string fields;
      for (const std::string& c : conflicts) fields += (fields.empty() ? "" : ", ") + c;
      PushRecord record;
      const std::string what =
          both_created && !server_deleted
              ? local.type + "/" + local.id + " was created here, but the parent already holds " +
                    "a resource with this id (its version " + copy.resource.version +
                    ", created elsewhere) with different content; nothing was overwritten"
              : "conflict with the parent's version " + copy.resource.version + " in: " + fields;
      record.transitions =
          Transitions(group, kOutboxDead, Name(PushOutcome::kConflict), http_status, what);
      ConflictRecord conflict;
      conflict.type = local.type;
      conflict.id = local.id;
      conflict.outbox_seq = local.seq;
      conflict.base_version = base_version;
      conflict.base_body = base_body;
      conflict.local_version = local.version;
      conflict.local_body = local.body;
      conflict.remote_version = copy.resource.version;
      conflict.remote_body = copy.resource.body;
      record.new_conflict = std::move(conflict);
      record.audit.push_back(GroupAudit(group, Name(PushOutcome::kConflict), http_status,
                                        message + "; dead letter, conflicting: " + fields,
                                        copy.resource.version));
      ++report.conflicts;
      ++report.dead_lettered;
      return Record(record).status();
    }
    // A clean merge: keep the server copy as this node's base, then the
    // merge as a new local change (queued in place of these items).
    PushRecord record;
    record.parent_node_id = options_.parent_node_id;
    record.correlation_id = group.first().correlation_id;
    WriteOp server_op;
    server_op.type = local.type;
    server_op.id = local.id;
    server_op.format = copy.resource.format;
    server_op.expected_version = local.version;  // no newer local edit came in meanwhile
    if (server_deleted) {
      server_op.kind = WriteOp::Kind::kDelete;
    } else {
      server_op.body = copy.resource.body;
    }
    record.server_copy = server_op;
    if (!server_deleted && merged != copy.resource.body) {
      WriteOp merged_op;
      merged_op.type = local.type;
      merged_op.id = local.id;
      merged_op.format = copy.resource.format;
      merged_op.body = merged;
      record.local_write = merged_op;
    }
    record.transitions = Transitions(group, kOutboxReplaced, "merged", http_status,
                                     "merged with the parent's version " + copy.resource.version);
    SyncState agreed;
    agreed.type = local.type;
    agreed.id = local.id;
    agreed.remote_version = copy.resource.version;
    agreed.content_hash = server_deleted ? "" : ContentHashOf(copy.resource.format, copy.resource.body);
    agreed.local_version = 0;  // the version the server copy gets here
    record.agreed.push_back(agreed);
    record.audit.push_back(GroupAudit(group, "merged", http_status,
                                      message + "; merged cleanly with the parent's version " +
                                          copy.resource.version + ", re-queued",
                                      copy.resource.version));
    StatusOr<PushRecordResult> done = Record(record);
    if (!done.ok() && done.status().code() == StatusCode::kAborted) {
      return Status::Ok();  // a newer local edit arrived: the next round merges that
    }
    FHIRSYNC_RETURN_IF_ERROR(done.status());
    ++report.merged;
    return Status::Ok();
  }

  // Every push step goes to the store through here, which marks the steps
  // in which the parent answered (the last contact `status` shows).
  StatusOr<PushRecordResult> Record(PushRecord& record) {
    for (const OutboxTransition& t : record.transitions) {
      if (t.http_status != 0 || t.outcome == Name(PushOutcome::kAccepted)) {
        record.parent_answered = true;
      }
    }
    return store_->RecordPush(record);
  }

  LocalStore* store_;
  const SyncResourceManager* routes_;
  PushOptions options_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

SyncPushService::SyncPushService(LocalStore* store, const SyncResourceManager* routes,
                                 PushOptions options)
    : impl_(std::make_unique<Impl>(store, routes, std::move(options))) {}
SyncPushService::~SyncPushService() = default;
StatusOr<PushReport> SyncPushService::RunOnce() { return impl_->RunOnce(); }
StatusOr<PushReport> SyncPushService::RunUntilIdle(int max_rounds) {
  return impl_->RunUntilIdle(max_rounds);
}

}  // namespace fhirsync
