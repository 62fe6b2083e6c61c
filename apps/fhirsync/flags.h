// FlagParser: the small command-line parser every verb uses.
//
// A verb registers its flags (each bound to a variable it owns), then calls
// Parse() on the words after the verb. Accepted forms: `--name value`,
// `--name=value`, and a bare `--name` for a boolean; `-h` is `--help`; `--`
// ends the flags; `-` and every word not starting with `-` is positional.
// Errors name the flag ("unknown flag --colour", "--limit needs a value N",
// "--limit: expected an integer, got 'ten'") so a typo is never silently
// ignored; an unknown flag near a known one says which ("unknown flag
// --jsno (did you mean '--json'?)").
//
// Thread safety: none needed; one parser per invocation.

#ifndef FHIRSYNC_APPS_FHIRSYNC_FLAGS_H_
#define FHIRSYNC_APPS_FHIRSYNC_FLAGS_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fhirsync/status.h"

namespace fhirsync::cli {

class FlagParser {
 public:
  FlagParser() = default;
  FlagParser(const FlagParser&) = delete;
  FlagParser& operator=(const FlagParser&) = delete;

  // Registers `--name VALUE`. `value_name` is shown in messages ("--dir D").
  // `out` (owned by the caller) keeps its value unless the flag is given.
  void AddString(std::string name, std::string value_name, std::string* out);
  // Registers `--name N`, an integer in [min, max].
  void AddInt(std::string name, std::string value_name, std::int64_t* out,
              std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  // Registers a boolean `--name` (no value; `--name=true|false` also works).
  void AddBool(std::string name, bool* out);

  // Parses `args`. InvalidArgument naming the flag on an unknown flag, a
  // missing or malformed value; the bound variables may then be partly set.
  Status Parse(const std::vector<std::string>& args);

  // Positional words, in order (valid after Parse()).
  const std::vector<std::string>& positional() const { return positional_; }
  // Whether `--name` was given.
  bool Seen(std::string_view name) const { return seen_.count(std::string(name)) > 0; }
  // The registered flag names, without "--", in registration order.
  std::vector<std::string> Names() const;

 private:
  enum class Kind { kString, kInt, kBool };
  struct Flag {
    std::string name;
    std::string value_name;
    Kind kind;
    void* out;
    std::int64_t min = 0;
    std::int64_t max = 0;
  };

  const Flag* Find(std::string_view name) const;
  Status Assign(const Flag& flag, std::string_view value);

  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  std::set<std::string> seen_;
};

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_FLAGS_H_
