// "Did you mean": the closest of a set of known words to a mistyped one, by
// edit distance (insertions, deletions, substitutions and swaps of two
// neighbouring letters each cost one), used for verbs, flags and
// configuration keys.
//
// Thread safety: pure functions.

#ifndef FHIRSYNC_APPS_FHIRSYNC_SUGGEST_H_
#define FHIRSYNC_APPS_FHIRSYNC_SUGGEST_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fhirsync::cli {

// The optimal-string-alignment distance between `a` and `b`.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The candidates nearest to `word`, if they are near enough to be a typo of
// it (one edit for words up to 3 letters, two up to 6, three beyond): all
// those at the smallest distance, in `candidates` order. Empty when none is.
std::vector<std::string> ClosestMatches(std::string_view word,
                                        const std::vector<std::string>& candidates);

// " (did you mean 'PREFIX+a'?)" or " (did you mean 'PREFIX+a' or
// 'PREFIX+b'?)" for ClosestMatches, or "" when there is none; ready to
// append to an error message.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view prefix = "");

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_SUGGEST_H_
