// The defaults of LocalStore's pull methods (a store that is never pulled
// into need not implement them), and the pull's small pure helpers.

#include <string>

#include "fhirsync/local_store.h"

namespace fhirsync {

std::string_view PullOutcomeName(PullOutcome outcome) {
  switch (outcome) {
    case PullOutcome::kApplied: return "applied";
    case PullOutcome::kUnchanged: return "unchanged";
    case PullOutcome::kSkipped: return "skipped";
    case PullOutcome::kConflict: return "conflict";
    case PullOutcome::kRejected: return "rejected";
  }
  return "failed";
}

namespace {

bool IsDecimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::int64_t DecimalValue(std::string_view text) {
  std::int64_t value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

bool IsNewerRemoteVersion(std::string_view candidate, std::string_view agreed) {
  if (IsDecimal(candidate) && IsDecimal(agreed)) {
    return DecimalValue(candidate) > DecimalValue(agreed);
  }
  return candidate != agreed;
}

StatusOr<std::vector<PulledResult>> LocalStore::ApplyPull(const PullPage& /*page*/) {
  return UnimplementedError("this store does not implement pulling");
}

StatusOr<std::optional<PullCursor>> LocalStore::GetCursor(const std::string& /*parent*/) {
  return UnimplementedError("this store does not implement pull cursors");
}

StatusOr<ParentContact> LocalStore::GetParentContact() {
  return UnimplementedError("this store does not record contact with the parent");
}

StatusOr<std::vector<SyncState>> LocalStore::GetSyncStates(
    std::span<const std::pair<std::string, std::string>> /*keys*/) {
  return UnimplementedError("this store does not implement sync state");
}

}  // namespace fhirsync
