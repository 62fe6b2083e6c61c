// VerifyWithPeer: the Merkle walk over sorted ranges (see fhirsync/digest.h).

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "fhirsync/base/text_util.h"
#include "fhirsync/digest.h"

namespace fhirsync {
namespace {

std::string DateOf(std::int64_t ms) {
  // FormatInstant gives "YYYY-MM-DDThh:mm:ss.sssZ"; resubmit takes dates.
  std::string instant = FormatInstant(ms);
  return instant.substr(0, 10);
}

class Walker {
 public:
  Walker(LocalStore& store, DigestPeer& peer, const VerifyOptions& options,
         VerifyReport& report, std::map<std::pair<std::string, std::string>, bool> queued)
      : store_(store), peer_(peer), options_(options), report_(report),
        queued_(std::move(queued)) {}

  Status Type(const std::string& type, const DigestRange* parent) {
    DigestScanQuery query;
    query.type = type;
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<DigestEntry> local, store_.ScanDigest(query));
    report_.local_resources += static_cast<std::int64_t>(local.size());
    DigestRange whole;
    whole.type = type;
    whole.digest = DigestOf({});
    if (parent != nullptr) whole = *parent;
    report_.parent_resources += whole.count;
    return Range(whole, local);
  }

 private:
  Status Range(const DigestRange& parent, std::span<const DigestEntry> local_all) {
    std::span<const DigestEntry> local =
        EntriesInRange(local_all, parent.from_id, parent.to_id);
    ++report_.ranges_compared;
    if (static_cast<std::int64_t>(local.size()) == parent.count &&
        DigestOf(local) == parent.digest) {
      return Status::Ok();
    }
    if (parent.count <= options_.list_threshold) {
      std::vector<DigestEntry> remote;
      if (parent.count > 0) {
        ++report_.requests;
        FHIRSYNC_ASSIGN_OR_RETURN(remote, peer_.List(parent.type, parent.from_id, parent.to_id));
        report_.entries_listed += static_cast<std::int64_t>(remote.size());
      }
      Diff(parent.type, local, remote);
      return Status::Ok();
    }
    ++report_.requests;
    FHIRSYNC_ASSIGN_OR_RETURN(
        std::vector<DigestRange> parts,
        peer_.Split(parent.type, parent.from_id, parent.to_id, options_.parts));
    if (parts.size() < 2) {
      return InternalError("parent split " + EscapeForMessage(parent.type) + " range of " +
                           std::to_string(parent.count) + " resources into " +
                           std::to_string(parts.size()) + " part(s); cannot narrow it down");
    }
    for (const DigestRange& part : parts) {
      if (part.count >= parent.count) {
        return InternalError("parent answered a part as large as its range; stopping");
      }
      FHIRSYNC_RETURN_IF_ERROR(Range(part, local));
    }
    return Status::Ok();
  }

  void Diff(const std::string& type, std::span<const DigestEntry> local,
            std::span<const DigestEntry> remote) {
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < local.size() || j < remote.size()) {
      const DigestEntry* l = i < local.size() ? &local[i] : nullptr;
      const DigestEntry* r = j < remote.size() ? &remote[j] : nullptr;
      if (l != nullptr && r != nullptr && l->id == r->id) {
        if (l->content_hash != r->content_hash) Add(VerifyDifference::kDifferent, type, l, r);
        ++i;
        ++j;
      } else if (r == nullptr || (l != nullptr && l->id < r->id)) {
        Add(VerifyDifference::kMissingOnParent, type, l, nullptr);
        ++i;
      } else {
        Add(VerifyDifference::kMissingHere, type, nullptr, r);
        ++j;
      }
    }
  }

  void Add(VerifyDifference kind, const std::string& type, const DigestEntry* local,
           const DigestEntry* remote) {
    VerifyFinding f;
    f.kind = kind;
    f.type = type;
    f.id = local != nullptr ? local->id : remote->id;
    if (local != nullptr) {
      f.local_version = local->version;
      f.local_updated_ms = local->last_updated_ms;
    }
    if (remote != nullptr) {
      f.parent_version = remote->version;
      f.parent_updated_ms = remote->last_updated_ms;
    }
    if (options_.since_ms > 0 && f.local_updated_ms < options_.since_ms &&
        f.parent_updated_ms < options_.since_ms) {
      return;
    }
    f.local_change_queued = queued_.count({type, f.id}) > 0;
    const std::string dir = " --dir " + options_.node_dir;
    if (f.local_change_queued) {
      // The local change is waiting in the outbox: sending it mends both
      // "different" and "missing on parent".
      f.fix_action = "push";
      f.fix_command = "fhirsync sync" + dir + " --push --once";
    } else if (kind == VerifyDifference::kMissingHere ||
               (kind == VerifyDifference::kDifferent &&
                f.parent_updated_ms >= f.local_updated_ms)) {
      f.fix_action = "pull";
      f.fix_command = "fhirsync sync" + dir + " --pull --once";
    } else {
      // Held here (newer) but not queued: re-queue it for the parent.
      const std::string day = DateOf(f.local_updated_ms);
      f.fix_action = "resubmit";
      f.fix_command = "fhirsync resubmit" + dir + " --from " + day + " --to " +
                      DateOf(f.local_updated_ms + 24 * 3600 * 1000LL);
    }
    report_.findings.push_back(std::move(f));
  }

  LocalStore& store_;
  DigestPeer& peer_;
  const VerifyOptions& options_;
  VerifyReport& report_;
  std::map<std::pair<std::string, std::string>, bool> queued_;
};

}  // namespace

StatusOr<VerifyReport> VerifyWithPeer(LocalStore& store, DigestPeer& peer,
                                      const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.parts < 2 || options.parts > kMaxDigestParts) {
    return InvalidArgumentError("parts must be between 2 and " +
                                std::to_string(kMaxDigestParts));
  }
  if (options.list_threshold < 1 || options.list_threshold > kMaxDigestListEntries) {
    return InvalidArgumentError("list threshold must be between 1 and " +
                                std::to_string(kMaxDigestListEntries));
  }
  VerifyReport report;
  ++report.requests;
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<DigestRange> parent_types, peer.TypeDigests());
  FHIRSYNC_ASSIGN_OR_RETURN(StoreStats stats, store.Stats());

  std::map<std::string, const DigestRange*> parent_by_type;
  for (const DigestRange& range : parent_types) parent_by_type[range.type] = &range;
  std::set<std::string> types;
  for (const auto& [type, range] : parent_by_type) types.insert(type);
  for (const TypeCount& t : stats.types) {
    if (t.live > 0) types.insert(t.type);
  }
  if (!options.types.empty()) {
    std::set<std::string> wanted(options.types.begin(), options.types.end());
    std::set<std::string> kept;
    for (const std::string& type : types) {
      if (wanted.count(type) > 0) kept.insert(type);
    }
    types = std::move(kept);
  }

  // Which resources have a local change waiting, to name the right fix.
  std::map<std::pair<std::string, std::string>, bool> queued;
  if (stats.outbox_pending > 0) {
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<OutboxItem> items,
                              store.PendingOutbox(stats.outbox_pending));
    for (const OutboxItem& item : items) queued[{item.type, item.id}] = true;
  }

  Walker walker(store, peer, options, report, std::move(queued));
  for (const std::string& type : types) {
    auto it = parent_by_type.find(type);
    FHIRSYNC_RETURN_IF_ERROR(walker.Type(type, it == parent_by_type.end() ? nullptr : it->second));
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace fhirsync
