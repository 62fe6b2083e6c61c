#include "fhirsync/local_store.h"

namespace fhirsync {

std::string_view ChangeActionName(ChangeAction action) {
  switch (action) {
    case ChangeAction::kCreate: return "CREATED";
    case ChangeAction::kUpdate: return "UPDATED";
    case ChangeAction::kDelete: return "DELETED";
  }
  return "UPDATED";
}

Status LocalStore::CheckIntegrity() {
  return UnimplementedError("this store does not implement an integrity check");
}

StatusOr<WriteResult> LocalStore::Put(const WriteOp& op, const WriteOptions& options) {
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<WriteResult> results,
                            Write(std::span<const WriteOp>(&op, 1), options));
  return std::move(results.front());
}

StatusOr<WriteResult> LocalStore::Delete(const std::string& type, const std::string& id,
                                         const WriteOptions& options,
                                         std::optional<std::int64_t> expected_version) {
  WriteOp op;
  op.kind = WriteOp::Kind::kDelete;
  op.type = type;
  op.id = id;
  op.expected_version = expected_version;
  return Put(op, options);
}

}  // namespace fhirsync
