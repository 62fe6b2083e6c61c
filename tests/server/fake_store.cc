#include "fake_store.h"

#include <algorithm>

#include "fhirsync/base/canonical_json.h"
#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync::testing {

StatusOr<std::vector<WriteResult>> FakeStore::Write(std::span<const WriteOp> ops,
                                                    const WriteOptions& options) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++write_calls_;
  State next = state_;  // all or nothing: work on a copy
  std::vector<WriteResult> results;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const WriteOp& op = ops[i];
    std::string id = op.id;
    const std::string where = "entry " + std::to_string(i) + " (" + op.type + "/" + id + ")";
    if (op.kind == WriteOp::Kind::kPut && id.empty()) id = NewUuid();
    const bool rest = op.format == ResourceFormat::kOpenmrsRest;
    if (Status s = rest ? ValidateRestResourceName(op.type) : ValidateResourceType(op.type);
        !s.ok()) {
      return s.WithContext(where);
    }
    if (Status s = ValidateId(id); !s.ok()) return s.WithContext(where);
    std::vector<Resource>& versions = next.versions[op.type + "/" + id];
    const std::int64_t current = versions.empty() ? 0 : versions.back().version;
    if (op.expected_version && *op.expected_version != current) {
      return AbortedError(where + ": expected version " + std::to_string(*op.expected_version) +
                          ", current is " + std::to_string(current));
    }
    WriteResult result;
    result.type = op.type;
    result.id = id;
    Resource r;
    r.type = op.type;
    r.id = id;
    r.version = current + 1;
    r.last_updated_ms = NowMillis();
    r.format = op.format;
    if (op.kind == WriteOp::Kind::kDelete) {
      if (versions.empty()) return NotFoundError(where + ": does not exist");
      if (versions.back().deleted) {
        result.version = current;
        result.changed = false;
        result.action = ChangeAction::kDelete;
        results.push_back(result);
        continue;
      }
      r.deleted = true;
      result.action = ChangeAction::kDelete;
    } else if (rest) {
      // OpenMRS REST bodies are kept as given, as the real store does.
      r.body = op.body;
      r.content_hash = ContentHashOf(ResourceFormat::kOpenmrsRest, op.body);
      result.action = versions.empty() || versions.back().deleted ? ChangeAction::kCreate
                                                                   : ChangeAction::kUpdate;
    } else {
      auto doc = ParseFhirBody(op.body, kDefaultMaxBodyBytes);
      if (!doc.ok()) return doc.status().WithContext(where);
      if (doc->resource_type != op.type) {
        return InvalidArgumentError(where + ": resourceType does not match");
      }
      if (!doc->id.empty() && doc->id != id) return InvalidArgumentError(where + ": id mismatch");
      StampedBody stamped = StampFhirBody(*doc, id, r.version, r.last_updated_ms);
      if (!versions.empty() && !versions.back().deleted &&
          versions.back().content_hash == stamped.content_hash) {
        result.version = current;
        result.changed = false;
        result.action = ChangeAction::kUpdate;
        result.last_updated_ms = versions.back().last_updated_ms;
        results.push_back(result);
        continue;
      }
      r.body = stamped.body;
      r.content_hash = stamped.content_hash;
      result.action = versions.empty() || versions.back().deleted ? ChangeAction::kCreate
                                                                   : ChangeAction::kUpdate;
    }
    Change change;
    change.seq = static_cast<std::int64_t>(next.changes.size()) + 1;
    change.action = result.action;
    change.origin = options.from_node;
    change.resource = r;
    next.changes.push_back(change);
    versions.push_back(r);
    result.version = r.version;
    result.seq = change.seq;
    result.last_updated_ms = r.last_updated_ms;
    results.push_back(result);
  }
  state_ = std::move(next);
  return results;
}

StatusOr<ImportSummary> FakeStore::Import(std::span<const WriteOp> ops,
                                          const WriteOptions& options, std::size_t batch_size) {
  ImportSummary summary;
  for (std::size_t start = 0; start < ops.size(); start += batch_size) {
    auto written = Write(ops.subspan(start, std::min(batch_size, ops.size() - start)), options);
    if (!written.ok()) return written.status();
    for (const WriteResult& r : *written) (r.changed ? summary.written : summary.unchanged)++;
  }
  return summary;
}

StatusOr<Resource> FakeStore::Get(const std::string& type, const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++get_calls_;
  auto it = state_.versions.find(type + "/" + id);
  if (it == state_.versions.end() || it->second.empty()) {
    return NotFoundError(type + "/" + id + " does not exist");
  }
  return it->second.back();
}

StatusOr<Resource> FakeStore::GetVersion(const std::string& type, const std::string& id,
                                         std::int64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = state_.versions.find(type + "/" + id);
  if (it == state_.versions.end() || version < 1 ||
      version > static_cast<std::int64_t>(it->second.size())) {
    return NotFoundError(type + "/" + id + " has no version " + std::to_string(version));
  }
  return it->second[static_cast<std::size_t>(version - 1)];
}

StatusOr<std::vector<Resource>> FakeStore::History(const std::string& type,
                                                   const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = state_.versions.find(type + "/" + id);
  if (it == state_.versions.end() || it->second.empty()) {
    return NotFoundError(type + "/" + id + " does not exist");
  }
  return std::vector<Resource>(it->second.rbegin(), it->second.rend());
}

StatusOr<std::vector<Change>> FakeStore::Changes(const ChangeQuery& query) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Change> out;
  for (const Change& change : state_.changes) {
    if (change.seq <= query.after_seq) continue;
    if (!query.types.empty() && std::find(query.types.begin(), query.types.end(),
                                          change.resource.type) == query.types.end()) {
      continue;
    }
    if (query.since_ms && change.resource.last_updated_ms < *query.since_ms) continue;
    out.push_back(change);
    if (!query.with_bodies) out.back().resource.body.clear();
    if (static_cast<std::int64_t>(out.size()) >= query.limit) break;
  }
  return out;
}

StatusOr<std::int64_t> FakeStore::LastSeq() {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::int64_t>(state_.changes.size());
}

StatusOr<SearchResult> FakeStore::Search(const SearchQuery& query) {
  std::lock_guard<std::mutex> lock(mutex_);
  SearchResult result;
  std::int64_t index = 0;
  for (const auto& [key, versions] : state_.versions) {  // ordered by key = by id
    const Resource& r = versions.back();
    if (r.type != query.type) continue;
    if (r.deleted && !query.include_deleted) continue;
    if (!query.ids.empty() &&
        std::find(query.ids.begin(), query.ids.end(), r.id) == query.ids.end()) {
      continue;
    }
    if (query.updated_from_ms && r.last_updated_ms < *query.updated_from_ms) continue;
    if (query.updated_to_ms && r.last_updated_ms >= *query.updated_to_ms) continue;
    ++result.total;
    if (index++ < query.offset) continue;
    if (static_cast<std::int64_t>(result.resources.size()) < query.limit) {
      result.resources.push_back(r);
    }
  }
  return result;
}

StatusOr<StoreStats> FakeStore::Stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  StoreStats stats;
  std::map<std::string, TypeCount> counts;
  for (const auto& [key, versions] : state_.versions) {
    TypeCount& count = counts[versions.back().type];
    count.type = versions.back().type;
    (versions.back().deleted ? count.deleted : count.live)++;
  }
  for (auto& [type, count] : counts) stats.types.push_back(count);
  stats.last_seq = static_cast<std::int64_t>(state_.changes.size());
  return stats;
}

StatusOr<std::vector<OutboxItem>> FakeStore::PendingOutbox(std::int64_t limit) {
  return std::vector<OutboxItem>();
}

}  // namespace fhirsync::testing
