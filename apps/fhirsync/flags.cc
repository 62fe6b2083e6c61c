#include "flags.h"

#include <charconv>
#include <optional>

#include "fhirsync/base/text_util.h"
#include "suggest.h"

namespace fhirsync::cli {

void FlagParser::AddString(std::string name, std::string value_name, std::string* out) {
  flags_.push_back({std::move(name), std::move(value_name), Kind::kString, out});
}

void FlagParser::AddInt(std::string name, std::string value_name, std::int64_t* out,
                        std::int64_t min, std::int64_t max) {
  flags_.push_back({std::move(name), std::move(value_name), Kind::kInt, out, min, max});
}

void FlagParser::AddBool(std::string name, bool* out) {
  flags_.push_back({std::move(name), "", Kind::kBool, out});
}

const FlagParser::Flag* FlagParser::Find(std::string_view name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

std::vector<std::string> FlagParser::Names() const {
  std::vector<std::string> names;
  for (const Flag& flag : flags_) names.push_back(flag.name);
  return names;
}

Status FlagParser::Assign(const Flag& flag, std::string_view value) {
  switch (flag.kind) {
    case Kind::kString:
      static_cast<std::string*>(flag.out)->assign(value);
      return Status::Ok();
    case Kind::kBool:
      if (value == "true") {
        *static_cast<bool*>(flag.out) = true;
      } else if (value == "false") {
        *static_cast<bool*>(flag.out) = false;
      } else {
        return InvalidArgumentError("--" + flag.name + ": expected true or false, got '" +
                                    EscapeForMessage(value) + "'");
      }
      return Status::Ok();
    case Kind::kInt: {
      std::int64_t n = 0;
      const char* end = value.data() + value.size();
      auto [ptr, ec] = std::from_chars(value.data(), end, n);
      if (value.empty() || ec != std::errc() || ptr != end) {
        return InvalidArgumentError("--" + flag.name + ": expected an integer, got '" +
                                    EscapeForMessage(value) + "'");
      }
      if (n < flag.min || n > flag.max) {
        std::string range = flag.max == INT64_MAX
                                ? "at least " + std::to_string(flag.min)
                                : "between " + std::to_string(flag.min) + " and " +
                                      std::to_string(flag.max);
        return InvalidArgumentError("--" + flag.name + ": must be " + range + ", got " +
                                    std::to_string(n));
      }
      *static_cast<std::int64_t*>(flag.out) = n;
      return Status::Ok();
    }
  }
  return InternalError("unhandled flag kind");
}

Status FlagParser::Parse(const std::vector<std::string>& args) {
  positional_.clear();
  seen_.clear();
  bool flags_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (flags_ended || arg == "-" || arg.empty() || arg[0] != '-') {
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h") arg = "--help";
    if (arg.substr(0, 2) != "--") {
      std::string_view name = arg.substr(1);
      name = name.substr(0, name.find('='));
      std::string hint = Find(name) != nullptr ? " (did you mean '--" + std::string(name) + "'?)"
                                               : " (flags are spelt --name)";
      return InvalidArgumentError("unknown flag " + EscapeForMessage(arg) + hint);
    }
    std::string_view body = arg.substr(2);
    std::string_view name = body;
    std::optional<std::string_view> inline_value;
    if (std::size_t eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      inline_value = body.substr(eq + 1);
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      return InvalidArgumentError("unknown flag --" + EscapeForMessage(name) +
                                  DidYouMean(name, Names(), "--"));
    }
    seen_.insert(flag->name);
    if (flag->kind == Kind::kBool) {
      FHIRSYNC_RETURN_IF_ERROR(Assign(*flag, inline_value.value_or("true")));
      continue;
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      // A following "--flag" means the value was forgotten, not that the
      // value is "--flag".
      value = args[++i];
    } else {
      return InvalidArgumentError("--" + flag->name + " needs a value (--" + flag->name + " " +
                                  flag->value_name + ")");
    }
    FHIRSYNC_RETURN_IF_ERROR(Assign(*flag, value));
  }
  return Status::Ok();
}

}  // namespace fhirsync::cli
