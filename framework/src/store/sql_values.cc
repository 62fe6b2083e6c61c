#include "store/sql_values.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fhirsync::store {

std::string JsonStringArray(const std::vector<std::string>& values) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const std::string& value : values) {
    writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

ChangeAction ChangeActionFromName(const std::string& name) {
  if (name == "CREATED") return ChangeAction::kCreate;
  if (name == "DELETED") return ChangeAction::kDelete;
  return ChangeAction::kUpdate;
}

}  // namespace fhirsync::store
