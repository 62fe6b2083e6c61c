// Range digests shared by the parent's $digest endpoint and `verify`
// (see fhirsync/digest.h).

#include "fhirsync/digest.h"

#include <algorithm>

#include "fhirsync/base/text_util.h"

namespace fhirsync {

std::string DigestOf(std::span<const DigestEntry> entries) {
  std::string buffer;
  buffer.reserve(entries.size() * 104);
  for (const DigestEntry& entry : entries) {
    buffer += entry.id;
    buffer += '\n';
    buffer += entry.content_hash;
    buffer += '\n';
  }
  return Sha256Hex(buffer);
}

bool InDigestRange(const std::string& id, const std::string& from_id, const std::string& to_id) {
  return id >= from_id && (to_id.empty() || id < to_id);
}

std::span<const DigestEntry> EntriesInRange(std::span<const DigestEntry> sorted,
                                            const std::string& from_id,
                                            const std::string& to_id) {
  auto by_id = [](const DigestEntry& entry, const std::string& id) { return entry.id < id; };
  auto first = std::lower_bound(sorted.begin(), sorted.end(), from_id, by_id);
  auto last = to_id.empty() ? sorted.end() : std::lower_bound(first, sorted.end(), to_id, by_id);
  return sorted.subspan(static_cast<std::size_t>(first - sorted.begin()),
                        static_cast<std::size_t>(last - first));
}

std::vector<DigestRange> SplitDigestRanges(const std::string& type,
                                           std::span<const DigestEntry> sorted,
                                           const std::string& from_id,
                                           const std::string& to_id, int parts) {
  std::vector<DigestRange> ranges;
  const std::size_t n = sorted.size();
  const std::size_t k = std::max<std::size_t>(
      1, std::min<std::size_t>(static_cast<std::size_t>(std::max(parts, 1)), n));
  std::size_t begin = 0;
  for (std::size_t part = 0; part < k; ++part) {
    const std::size_t end = n * (part + 1) / k;
    DigestRange range;
    range.type = type;
    range.from_id = part == 0 ? from_id : sorted[begin].id;
    range.to_id = part + 1 == k ? to_id : sorted[end].id;
    std::span<const DigestEntry> slice = sorted.subspan(begin, end - begin);
    range.count = static_cast<std::int64_t>(slice.size());
    range.digest = DigestOf(slice);
    ranges.push_back(std::move(range));
    begin = end;
  }
  return ranges;
}

StatusOr<std::vector<DigestRange>> StoreTypeDigests(LocalStore& store) {
  FHIRSYNC_ASSIGN_OR_RETURN(StoreStats stats, store.Stats());
  std::vector<DigestRange> ranges;
  for (const TypeCount& type : stats.types) {
    if (type.live == 0) continue;
    DigestScanQuery query;
    query.type = type.type;
    FHIRSYNC_ASSIGN_OR_RETURN(std::vector<DigestEntry> entries, store.ScanDigest(query));
    DigestRange range;
    range.type = type.type;
    range.count = static_cast<std::int64_t>(entries.size());
    range.digest = DigestOf(entries);
    ranges.push_back(std::move(range));
  }
  return ranges;
}

StatusOr<std::vector<DigestRange>> StoreSplitDigest(LocalStore& store, const std::string& type,
                                                    const std::string& from_id,
                                                    const std::string& to_id, int parts) {
  if (parts < 1 || parts > kMaxDigestParts) {
    return InvalidArgumentError("parts must be between 1 and " +
                                std::to_string(kMaxDigestParts) + ", got " +
                                std::to_string(parts));
  }
  if (!to_id.empty() && to_id <= from_id) {
    return InvalidArgumentError("empty range: to '" + EscapeForMessage(to_id) +
                                "' is not after from '" + EscapeForMessage(from_id) + "'");
  }
  DigestScanQuery query{type, from_id, to_id};
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<DigestEntry> entries, store.ScanDigest(query));
  return SplitDigestRanges(type, entries, from_id, to_id, parts);
}

StatusOr<std::vector<DigestEntry>> StoreListDigest(LocalStore& store, const std::string& type,
                                                   const std::string& from_id,
                                                   const std::string& to_id) {
  DigestScanQuery query{type, from_id, to_id, kMaxDigestListEntries + 1};
  FHIRSYNC_ASSIGN_OR_RETURN(std::vector<DigestEntry> entries, store.ScanDigest(query));
  if (static_cast<std::int64_t>(entries.size()) > kMaxDigestListEntries) {
    return InvalidArgumentError("the range holds more than " +
                                std::to_string(kMaxDigestListEntries) +
                                " resources; split it (parts=N) before listing");
  }
  return entries;
}

std::string_view VerifyDifferenceName(VerifyDifference kind) {
  switch (kind) {
    case VerifyDifference::kMissingHere: return "missing-here";
    case VerifyDifference::kMissingOnParent: return "missing-on-parent";
    case VerifyDifference::kDifferent: return "different";
  }
  return "different";
}

}  // namespace fhirsync
