// Range digests: how two nodes compare what they hold without copying it
// (`fhirsync verify`, the parent's `GET /fhir/$digest`).
//
// Each side sorts its live resources of one type by id (byte order) and
// hashes ranges of them: SHA-256 over "id\ncontent_hash\n" per resource.
// Versions are left out on purpose: each node numbers its own versions
// (architecture §4), while the store's content hash is the same on every node for
// the same content. Deleted resources are left out too: a child that never
// held a resource the parent deleted holds exactly what it should.
//
// The parent splits a range into parts of equal size (by its own count)
// and reports each part's bounds, count and digest; the child digests the
// same bounds over its own entries, and only parts whose digests differ are
// split again, until a part is small enough to list in full (a Merkle walk
// over sorted ranges). Both sides use the functions below, so they cannot
// disagree on the computation.
//
// Thread safety: free functions are pure; a DigestPeer is used from one
// thread at a time.

#ifndef FHIRSYNC_DIGEST_H_
#define FHIRSYNC_DIGEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fhirsync/local_store.h"
#include "fhirsync/parent_identity.h"
#include "fhirsync/status.h"

namespace fhirsync {

// A range [from_id, to_id) of one type's ids; empty bounds are open.
struct DigestRange {
  std::string type;
  std::string from_id;
  std::string to_id;
  std::int64_t count = 0;
  std::string digest;  // lower-case hex SHA-256; DigestOf({}) when empty
};

// The digest of `entries` (already in id order).
std::string DigestOf(std::span<const DigestEntry> entries);

// True when from_id <= id < to_id, empty bounds being open.
bool InDigestRange(const std::string& id, const std::string& from_id, const std::string& to_id);

// The entries of `sorted` that fall in [from_id, to_id) (a sub-span).
std::span<const DigestEntry> EntriesInRange(std::span<const DigestEntry> sorted,
                                            const std::string& from_id,
                                            const std::string& to_id);

// Splits `sorted` (the entries of [from_id, to_id)) into at most `parts`
// ranges of near-equal count that together cover [from_id, to_id) exactly:
// the first starts at from_id, the last ends at to_id, and each inner bound
// is the first id of the next part. An empty input gives one empty range.
std::vector<DigestRange> SplitDigestRanges(const std::string& type,
                                           std::span<const DigestEntry> sorted,
                                           const std::string& from_id,
                                           const std::string& to_id, int parts);

// Limits the parent enforces on $digest requests.
inline constexpr int kMaxDigestParts = 64;
inline constexpr std::int64_t kMaxDigestListEntries = 5000;

// The other side of a verify: the parent, reached over HTTP in production.
class DigestPeer {
 public:
  virtual ~DigestPeer() = default;
  // One whole-type range per type the peer holds, sorted by type.
  virtual StatusOr<std::vector<DigestRange>> TypeDigests() = 0;
  // [from_id, to_id) of `type` split into at most `parts` ranges as
  // SplitDigestRanges does.
  virtual StatusOr<std::vector<DigestRange>> Split(const std::string& type,
                                                   const std::string& from_id,
                                                   const std::string& to_id, int parts) = 0;
  // Every live entry of [from_id, to_id), in id order.
  virtual StatusOr<std::vector<DigestEntry>> List(const std::string& type,
                                                  const std::string& from_id,
                                                  const std::string& to_id) = 0;
};

// The parent of a node over HTTP: GET {base_url}/fhir/$digest with HTTP
// Basic credentials (`user` empty: none). InvalidArgument for a bad URL.
// Each call returns Unavailable when the parent cannot be reached,
// Unauthenticated/PermissionDenied on 401/403 and Internal for an answer
// that does not parse, each naming the request.
// `max_answer_bytes` bounds every answer (parent.max_answer_bytes; more is
// ResourceExhausted) and `deadline_ms` every request, connecting to the
// answer's last byte (parent.request_deadline_seconds; DeadlineExceeded).
StatusOr<std::unique_ptr<DigestPeer>> MakeHttpDigestPeer(
    const std::string& base_url, const std::string& user, const std::string& password,
    std::size_t max_answer_bytes = 64u * 1024u * 1024u, int deadline_ms = 300000);
// The same for a ParentEndpoint (parent_identity.h: ParentEndpointFor), with
// its CA file for an https parent; every request goes through the shared
// HTTP transport.
StatusOr<std::unique_ptr<DigestPeer>> MakeHttpDigestPeer(const ParentEndpoint& parent);

// The answer of the parent's $digest endpoint to a local store, shared by
// the HTTP handler and in-process peers (tests). Returns InvalidArgument for
// bad parameters (parts outside 1..kMaxDigestParts, a list over
// kMaxDigestListEntries entries).
StatusOr<std::vector<DigestRange>> StoreTypeDigests(LocalStore& store);
StatusOr<std::vector<DigestRange>> StoreSplitDigest(LocalStore& store, const std::string& type,
                                                    const std::string& from_id,
                                                    const std::string& to_id, int parts);
StatusOr<std::vector<DigestEntry>> StoreListDigest(LocalStore& store, const std::string& type,
                                                   const std::string& from_id,
                                                   const std::string& to_id);

// ---- The comparison itself. ----

enum class VerifyDifference {
  kMissingHere,      // the parent holds it, this node does not
  kMissingOnParent,  // this node holds it, the parent does not
  kDifferent,        // both hold it with different content
};
std::string_view VerifyDifferenceName(VerifyDifference kind);  // "missing-here", ...

struct VerifyFinding {
  VerifyDifference kind = VerifyDifference::kDifferent;
  std::string type;
  std::string id;
  std::int64_t local_version = 0;   // 0: not held here
  std::int64_t parent_version = 0;  // 0: not held by the parent
  std::int64_t local_updated_ms = 0;
  std::int64_t parent_updated_ms = 0;
  bool local_change_queued = false;  // a pending outbox item holds it
  std::string fix_action;            // "pull", "push", "resubmit"
  std::string fix_command;           // the command line that mends it
};

struct VerifyOptions {
  std::vector<std::string> types;  // empty: every type either side holds
  // Report only findings where a side's copy changed at or after this time
  // (the walk still compares everything: last_updated differs across nodes).
  std::int64_t since_ms = 0;
  int parts = 16;                   // ranges per split
  std::int64_t list_threshold = 256;  // list a range in full at or below this
  std::string node_dir = ".";       // put into the fix commands
};

struct VerifyReport {
  std::vector<VerifyFinding> findings;  // by type, then id
  std::int64_t local_resources = 0;     // compared, live
  std::int64_t parent_resources = 0;
  std::int64_t ranges_compared = 0;  // digests compared
  std::int64_t entries_listed = 0;   // entries fetched from the parent
  std::int64_t requests = 0;         // calls to the peer
  double seconds = 0;
  bool in_sync() const { return findings.empty(); }
};

// Compares `store` with `peer`. Errors of either side are returned as they
// come (nothing is changed on either side).
StatusOr<VerifyReport> VerifyWithPeer(LocalStore& store, DigestPeer& peer,
                                      const VerifyOptions& options);

}  // namespace fhirsync

#endif  // FHIRSYNC_DIGEST_H_
