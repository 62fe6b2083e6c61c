// The name of one change file in the folder transport's changes/ folder.
//
// Everything but the body is in the name, so listing the folder is enough
// to know the feed and no second file has to be kept in step:
//
//   00000000000000000042~1763771234567~Patient~p-1~3~update~fhir.json
//   sequence             time (ms)     type    id  version action format
//
// The sequence is zero-padded so names sort in feed order. "~" cannot occur
// in a FHIR id, a FHIR type or an OpenMRS resource name, so the name splits
// unambiguously; all characters are valid on FAT, which USB sticks use.
//
// Thread safety: plain values and pure functions.

#ifndef FHIRSYNC_PLUGINS_EXAMPLE_CHANGE_FILE_NAME_H_
#define FHIRSYNC_PLUGINS_EXAMPLE_CHANGE_FILE_NAME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fhirsync/plugin/transport_plugin.h"

namespace fhirsync::folder {

struct ChangeFileName {
  std::uint64_t sequence = 0;
  std::int64_t at_ms = 0;
  std::string type;
  std::string id;
  std::uint64_t version = 0;
  ChangeAction action = ChangeAction::kUpdate;
  ResourceFormat format = ResourceFormat::kFhirJson;
};

std::string FormatChangeFileName(const ChangeFileName& change);

// nullopt for any name that is not exactly a change file name (temporary
// files, a desktop's own files, hostile names): the caller skips those.
std::optional<ChangeFileName> ParseChangeFileName(std::string_view name);

// Whether `type` and `id` may appear in a change file name: a FHIR type or
// OpenMRS resource name, and a FHIR id ([A-Za-z0-9-.]{1,64}, not "." or "..").
// InvalidArgument naming the offending part otherwise.
Status CheckTypeAndId(std::string_view type, std::string_view id);

}  // namespace fhirsync::folder

#endif  // FHIRSYNC_PLUGINS_EXAMPLE_CHANGE_FILE_NAME_H_
