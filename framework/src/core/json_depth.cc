#include "core/json_depth.h"

#include <string>

namespace fhirsync {

Status CheckJsonDepth(std::string_view json, int max_depth, std::string_view what) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return InvalidArgumentError(std::string(what) + " nests arrays/objects deeper than " +
                                    std::to_string(max_depth) + " levels (at byte " +
                                    std::to_string(i) + ")");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::Ok();
}

}  // namespace fhirsync
