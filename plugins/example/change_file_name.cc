#include "change_file_name.h"

#include <charconv>
#include <cstdio>
#include <vector>

namespace fhirsync::folder {
namespace {

constexpr char kSeparator = '~';
constexpr std::string_view kSuffix = ".json";

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ValidType(std::string_view type) {
  if (type.empty() || type.size() > 64 || !((type[0] >= 'A' && type[0] <= 'Z') ||
                                            (type[0] >= 'a' && type[0] <= 'z'))) {
    return false;
  }
  for (char c : type) {
    if (!IsAlnum(c) && c != '_') return false;
  }
  return true;
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!IsAlnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

template <typename Int>
bool ParseNumber(std::string_view text, Int* out) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

std::string_view ActionName(ChangeAction action) {
  switch (action) {
    case ChangeAction::kCreate: return "create";
    case ChangeAction::kUpdate: return "update";
    case ChangeAction::kDelete: return "delete";
  }
  return "update";
}

}  // namespace

std::string FormatChangeFileName(const ChangeFileName& change) {
  char sequence[24];
  std::snprintf(sequence, sizeof(sequence), "%020llu",
                static_cast<unsigned long long>(change.sequence));
  std::string name = sequence;
  name += kSeparator;
  name += std::to_string(change.at_ms);
  name += kSeparator;
  name += change.type;
  name += kSeparator;
  name += change.id;
  name += kSeparator;
  name += std::to_string(change.version);
  name += kSeparator;
  name += ActionName(change.action);
  name += kSeparator;
  name += change.format == ResourceFormat::kFhirJson ? "fhir" : "rest";
  name += kSuffix;
  return name;
}

std::optional<ChangeFileName> ParseChangeFileName(std::string_view name) {
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  name.remove_suffix(kSuffix.size());
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = name.find(kSeparator, start);
    parts.push_back(name.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() != 7) return std::nullopt;
  ChangeFileName change;
  if (parts[0].size() != 20 || !ParseNumber(parts[0], &change.sequence)) return std::nullopt;
  if (!ParseNumber(parts[1], &change.at_ms)) return std::nullopt;
  if (!ValidType(parts[2]) || !ValidId(parts[3])) return std::nullopt;
  change.type = std::string(parts[2]);
  change.id = std::string(parts[3]);
  if (!ParseNumber(parts[4], &change.version) || change.version == 0) return std::nullopt;
  if (parts[5] == "create") {
    change.action = ChangeAction::kCreate;
  } else if (parts[5] == "update") {
    change.action = ChangeAction::kUpdate;
  } else if (parts[5] == "delete") {
    change.action = ChangeAction::kDelete;
  } else {
    return std::nullopt;
  }
  if (parts[6] == "fhir") {
    change.format = ResourceFormat::kFhirJson;
  } else if (parts[6] == "rest") {
    change.format = ResourceFormat::kOpenmrsRest;
  } else {
    return std::nullopt;
  }
  return change;
}

Status CheckTypeAndId(std::string_view type, std::string_view id) {
  // Quote at most 64 characters of hostile input, and nothing unprintable.
  auto quote = [](std::string_view text) {
    std::string out;
    for (char c : text.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return "'" + out + (text.size() > 64 ? "...'" : "'");
  };
  if (!ValidType(type)) {
    return InvalidArgumentError("resource type " + quote(type) +
                                " is not a type name the folder can hold");
  }
  if (!ValidId(id)) {
    return InvalidArgumentError("id " + quote(id) +
                                " is not a valid id ([A-Za-z0-9-.], at most 64)");
  }
  return Status();
}

}  // namespace fhirsync::folder
