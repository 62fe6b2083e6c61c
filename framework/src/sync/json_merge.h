// Three-way merge of two JSON documents that both started from one base
// (internal header): the conflict step of a push (architecture §5), and of a pull
// that meets a pending local change.
//
// Rules, applied recursively from the top object:
//   - a member the two sides left alone, or changed to the same value, is
//     kept; a member only one side changed (set, altered or removed) takes
//     that side's value;
//   - a member both sides changed differently is merged member by member
//     when it is an object on both sides, and element by element when it is
//     an array whose elements all carry an `id` (string) or an `identifier`
//     on every side: elements are matched by that key, never by position,
//     so an element added on one side and an element edited on the other
//     both survive. Anything else both sides changed differently is a
//     conflict, reported by its path.
//   - `meta.versionId` and `meta.lastUpdated` are ignored (every node stamps
//     its own) and left out of the merged body.
// Arrays without keys are values: two different edits of one are a
// conflict, because a positional merge of lists silently mixes up entries.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_SYNC_JSON_MERGE_H_
#define FHIRSYNC_SYNC_JSON_MERGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync::sync {

struct JsonMergeResult {
  // True when nothing conflicted; `merged` then holds the merged document
  // (compact JSON, members in local order, then those only the remote has).
  bool clean = false;
  std::string merged;
  // Paths where both sides changed the same thing differently, e.g.
  // "birthDate", "name[id=n1].family", "telecom" (an unkeyed list).
  std::vector<std::string> conflicts;
};

// Merges `local` and `remote`, both edits of `base`. InvalidArgument naming
// the side ("base", "local", "remote") when one is not a JSON object.
StatusOr<JsonMergeResult> MergeJson(std::string_view base, std::string_view local,
                                    std::string_view remote);

}  // namespace fhirsync::sync

#endif  // FHIRSYNC_SYNC_JSON_MERGE_H_
