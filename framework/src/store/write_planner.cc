#include "store/write_planner.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <utility>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/resource.h"

namespace fhirsync::store {
namespace {

Status CheckBodySize(const WriteOp& op, std::size_t max_body_bytes) {
  if (op.body.size() > max_body_bytes) {
    return ResourceExhaustedError("body is " + std::to_string(op.body.size()) +
                                  " bytes, over the cap of " + std::to_string(max_body_bytes) +
                                  " bytes (store.max_body_bytes)");
  }
  return Status::Ok();
}

StatusOr<PreparedOp> PrepareFhirPut(const WriteOp& op, std::size_t max_body_bytes,
                                    PreparedOp prepared) {
  // The id it is stored under, known before the body is read. A body with
  // another id is refused below, so a new one is wasted only then.
  std::string id = op.id.empty() ? NewUuid() : op.id;
  FHIRSYNC_ASSIGN_OR_RETURN(PreparedFhirBody body, PrepareFhirBody(op.body, id, max_body_bytes));
  if (body.resource_type != op.type) {
    return InvalidArgumentError("body resourceType '" + EscapeForMessage(body.resource_type) +
                                "' does not match the type '" + EscapeForMessage(op.type) +
                                "' it is written as");
  }
  if (!body.id.empty() && body.id != op.id) {
    return InvalidArgumentError(
        "body id '" + EscapeForMessage(body.id) + "' does not match the id '" +
        EscapeForMessage(op.id) + "' it is written as" +
        (op.id.empty() ? " (none given: give the id, or leave it out of the body)" : ""));
  }
  prepared.id = std::move(id);
  prepared.fhir.emplace(std::move(body.unstamped));
  return prepared;
}

StatusOr<PreparedOp> PrepareRestPut(const WriteOp& op, std::size_t max_body_bytes,
                                    PreparedOp prepared) {
  FHIRSYNC_RETURN_IF_ERROR(CheckBodySize(op, max_body_bytes));
  // Only a well-formedness check: OpenMRS REST bodies are stored verbatim.
  // The parse recurses once per level.
  FHIRSYNC_RETURN_IF_ERROR(CheckJsonDepth(op.body));
  rapidjson::Document json;
  json.Parse(op.body.data(), op.body.size());
  if (json.HasParseError()) {
    return InvalidArgumentError(std::string("body is not valid JSON: ") +
                                rapidjson::GetParseError_En(json.GetParseError()) + " (at byte " +
                                std::to_string(json.GetErrorOffset()) + ")");
  }
  if (!json.IsObject()) return InvalidArgumentError("body is not a JSON object");
  prepared.opaque_hash = ContentHashOf(ResourceFormat::kOpenmrsRest, op.body);
  return prepared;
}

}  // namespace

std::string EntryLabel(std::size_t index, const std::string& type, const std::string& id) {
  return "entry " + std::to_string(index + 1) + " (" + EscapeForMessage(type, 64) + "/" +
         EscapeForMessage(id, 70) + ")";
}

StatusOr<PreparedOp> PrepareOp(const WriteOp& op, std::size_t max_body_bytes) {
  PreparedOp prepared;
  prepared.op = &op;
  if (op.format == ResourceFormat::kFhirJson) {
    FHIRSYNC_RETURN_IF_ERROR(ValidateResourceType(op.type));
  } else {
    FHIRSYNC_RETURN_IF_ERROR(ValidateRestResourceName(op.type));
  }
  if (op.kind == WriteOp::Kind::kDelete) {
    if (op.id.empty()) return InvalidArgumentError("a delete needs an id");
    FHIRSYNC_RETURN_IF_ERROR(ValidateId(op.id));
    prepared.id = op.id;
    return prepared;
  }
  if (!op.id.empty()) FHIRSYNC_RETURN_IF_ERROR(ValidateId(op.id));
  if (op.expected_version && *op.expected_version < 0) {
    return InvalidArgumentError("expected version " + std::to_string(*op.expected_version) +
                                " is negative");
  }
  if (op.format == ResourceFormat::kFhirJson) {
    FHIRSYNC_ASSIGN_OR_RETURN(prepared, PrepareFhirPut(op, max_body_bytes, std::move(prepared)));
  } else {
    FHIRSYNC_ASSIGN_OR_RETURN(prepared, PrepareRestPut(op, max_body_bytes, std::move(prepared)));
  }
  // The id is assigned only after the body passed, so a body id check
  // compares against what the caller gave.
  if (prepared.id.empty()) prepared.id = op.id.empty() ? NewUuid() : op.id;
  return prepared;
}

WriteResult ToWriteResult(const PreparedOp& prepared, const WriteOutcome& outcome) {
  WriteResult result;
  result.type = prepared.op->type;
  result.id = prepared.id;
  result.version = outcome.version;
  result.seq = outcome.seq;
  result.action = outcome.action;
  result.changed = outcome.changed;
  result.last_updated_ms = outcome.last_updated_ms;
  return result;
}

namespace {

// The version rules for `prepared` given `current`; nullopt when the target
// refused the new version (see WriteTarget::Append).
StatusOr<std::optional<WriteOutcome>> PlanAndAppend(const PreparedOp& prepared,
                                                    const CurrentVersion* current,
                                                    WriteTarget& target, WriteContext& context) {
  const WriteOp& op = *prepared.op;
  const std::int64_t current_version = current ? current->version : 0;
  if (op.expected_version && *op.expected_version != current_version) {
    return AbortedError("version conflict: expected version " +
                        std::to_string(*op.expected_version) + " but the current version is " +
                        (current ? std::to_string(current_version)
                                 : std::string("0 (it does not exist)")));
  }

  // Nothing written: the current version stays.
  auto unchanged = [&](ChangeAction action) -> std::optional<WriteOutcome> {
    WriteOutcome outcome;
    outcome.version = current->version;
    outcome.seq = 0;
    outcome.action = action;
    outcome.changed = false;
    outcome.last_updated_ms = current->last_updated_ms;
    return outcome;
  };

  NewVersion next;
  next.seq = context.next_seq;
  next.type = op.type;
  next.id = prepared.id;
  next.version = current_version + 1;
  next.at_ms = context.now_ms;
  next.origin = context.origin;
  next.format = op.format;
  next.queue_outbox = context.queue_outbox;
  if (next.queue_outbox) next.correlation_id = prepared.correlation_id;

  if (op.kind == WriteOp::Kind::kDelete) {
    if (!current) {
      return NotFoundError(EscapeForMessage(op.type) + "/" + EscapeForMessage(prepared.id) +
                           " does not exist");
    }
    // Deleting a tombstone changes nothing.
    if (current->deleted) return unchanged(ChangeAction::kDelete);
    next.action = ChangeAction::kDelete;
    next.deleted = true;
  } else {
    const std::string& hash = prepared.fhir ? prepared.fhir->content_hash : prepared.opaque_hash;
    if (current && !current->deleted && current->content_hash == hash) {
      return unchanged(ChangeAction::kUpdate);
    }
    next.content_hash = hash;
    if (prepared.fhir) {
      // A view, not `empty() ? FormatInstant(..) : now_text`: that
      // expression is a new string, an allocation per row.
      std::string formatted;
      std::string_view now = context.now_text;
      if (now.empty()) now = formatted = FormatInstant(context.now_ms);
      ApplyStampTo(*prepared.fhir, next.version, now, context.body_buffer);
      next.body = context.body_buffer;
    } else {
      next.body = op.body;
    }
    // Writing over a tombstone brings the resource back: a create again.
    next.action =
        current && !current->deleted ? ChangeAction::kUpdate : ChangeAction::kCreate;
  }

  WriteOutcome outcome;
  outcome.version = next.version;
  outcome.seq = next.seq;
  outcome.action = next.action;
  outcome.changed = true;
  outcome.last_updated_ms = next.at_ms;
  FHIRSYNC_ASSIGN_OR_RETURN(bool appended, target.Append(next));
  if (!appended) return std::optional<WriteOutcome>();
  ++context.next_seq;
  return std::optional<WriteOutcome>(outcome);
}

}  // namespace

StatusOr<WriteOutcome> ApplyPreparedOp(const PreparedOp& prepared, WriteTarget& target,
                                       WriteContext& context) {
  const WriteOp& op = *prepared.op;
  // A put that does not need the current version to be right may let the
  // target assume the resource is new (an import of new resources then
  // looks nothing up); if it exists after all, the target says so at
  // Append and this op is planned again, from what the target now knows.
  const bool may_assume_new =
      op.kind == WriteOp::Kind::kPut && (!op.expected_version || *op.expected_version == 0);
  for (int attempt = 0;; ++attempt) {
    FHIRSYNC_ASSIGN_OR_RETURN(const CurrentVersion* current,
                              target.Current(op.type, prepared.id, may_assume_new && attempt == 0));
    FHIRSYNC_ASSIGN_OR_RETURN(std::optional<WriteOutcome> outcome,
                              PlanAndAppend(prepared, current, target, context));
    if (outcome) return *outcome;
    if (attempt > 0) {
      return InternalError("the store refused version 1 of " + EscapeForMessage(op.type) + "/" +
                           EscapeForMessage(prepared.id) + " after looking it up");
    }
  }
}

}  // namespace fhirsync::store
