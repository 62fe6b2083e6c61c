// ConfigEdit: reads and changes one key of a node's fhirsync.json by its
// dotted path ("pull.interval_seconds", "plugins.load[0].options.dir",
// "plugins.routes.Patient"), for `fhirsync config`.
//
// It edits the JSON tree only; whether the result is a valid configuration
// is decided by ParseNodeConfig (fhirsync/config.h), the same reader every
// verb uses, so a key or value the file would refuse is refused here with
// the same message naming the key.
//
// Thread safety: none needed; one per invocation.

#ifndef FHIRSYNC_APPS_FHIRSYNC_CONFIG_EDIT_H_
#define FHIRSYNC_APPS_FHIRSYNC_CONFIG_EDIT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "fhirsync/status.h"

namespace fhirsync::cli {

// One step of a key path: a member name, or an index into a list.
struct KeyStep {
  std::string member;  // empty for an index
  std::size_t index = 0;
  bool is_index() const { return member.empty(); }
};

// "plugins.load[0].name" -> {plugins, load, [0], name}. InvalidArgument
// naming the key when it is empty or malformed ("a..b", "x[", "x[-1]").
StatusOr<std::vector<KeyStep>> ParseKeyPath(std::string_view key);

// The value at `path` in `root`. NotFound naming the first missing step,
// with the nearest existing name when one is close ("did you mean").
StatusOr<const rapidjson::Value*> FindKey(const rapidjson::Value& root,
                                          const std::vector<KeyStep>& path,
                                          std::string_view key);

// Parses VALUE as the command line gives it: when `replaced` (the value it
// replaces, or the key's default) is a string or null, the text itself;
// otherwise JSON
// (numbers, true/false, lists, objects), falling back to the text when it is
// not JSON, so that the configuration reader names the key and the type it
// expected ("pull.interval_seconds: expected an integer").
void ParseValueText(std::string_view text, const rapidjson::Value* replaced,
                    rapidjson::Document::AllocatorType& allocator, rapidjson::Value* out);

// Sets `path` in `doc` to `value` (moved from), creating missing members
// (as objects on the way). NotFound for an index past the end of a list;
// InvalidArgument when a step crosses a value that is not an object/list.
Status SetKey(rapidjson::Document& doc, const std::vector<KeyStep>& path, std::string_view key,
              rapidjson::Value& value);

// Appends `value` to the list at `path` (created when missing).
// InvalidArgument when the key holds something other than a list.
Status AppendToKey(rapidjson::Document& doc, const std::vector<KeyStep>& path,
                   std::string_view key, rapidjson::Value& value);

// Removes `path` from `doc` (a member of an object, or an element of a
// list). NotFound when it is not there.
Status RemoveKey(rapidjson::Document& doc, const std::vector<KeyStep>& path, std::string_view key);

// Every leaf of `root` as "dotted.key" -> value pairs, in document order
// (empty objects and lists are leaves too).
void FlattenKeys(const rapidjson::Value& root, const std::string& prefix,
                 std::vector<std::pair<std::string, const rapidjson::Value*>>* out);

// The value as the command line shows it: a string as itself, anything else
// as compact JSON.
std::string ValueText(const rapidjson::Value& value);

}  // namespace fhirsync::cli

#endif  // FHIRSYNC_APPS_FHIRSYNC_CONFIG_EDIT_H_
