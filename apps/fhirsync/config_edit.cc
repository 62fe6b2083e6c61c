#include "config_edit.h"

#include <charconv>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "fhirsync/base/text_util.h"
#include "suggest.h"

namespace fhirsync::cli {
namespace {

using rapidjson::Value;

// The key text of the first `n` steps ("plugins.load[0]").
std::string StepsText(const std::vector<KeyStep>& path, std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n && i < path.size(); ++i) {
    if (path[i].is_index()) {
      text += "[" + std::to_string(path[i].index) + "]";
    } else {
      if (!text.empty()) text += '.';
      text += path[i].member;
    }
  }
  return text;
}

std::string KindName(const Value& value) {
  if (value.IsObject()) return "an object";
  if (value.IsArray()) return "a list";
  if (value.IsString()) return "a string";
  if (value.IsBool()) return "true/false";
  if (value.IsNumber()) return "a number";
  return "null";
}

Value::MemberIterator FindMember(Value& object, const std::string& name) {
  return object.FindMember(Value(rapidjson::StringRef(name.data(), name.size())));
}

std::vector<std::string> MemberNames(const Value& object) {
  std::vector<std::string> names;
  for (const auto& member : object.GetObject()) {
    names.emplace_back(member.name.GetString(), member.name.GetStringLength());
  }
  return names;
}

// Walks the first `n` steps of `path` from `root`, creating missing object
// members when `create`. Returns the value reached, or an error naming the
// step.
StatusOr<Value*> Walk(Value& root, const std::vector<KeyStep>& path, std::size_t n,
                      bool create, rapidjson::Document::AllocatorType* allocator) {
  Value* at = &root;
  for (std::size_t i = 0; i < n; ++i) {
    const KeyStep& step = path[i];
    const std::string here = StepsText(path, i + 1);
    if (step.is_index()) {
      if (!at->IsArray()) {
        return InvalidArgumentError(StepsText(path, i) + " is " + KindName(*at) +
                                    ", not a list");
      }
      if (step.index >= at->Size()) {
        return NotFoundError(here + ": no such element (" + StepsText(path, i) + " holds " +
                             std::to_string(at->Size()) + ")");
      }
      at = &(*at)[static_cast<rapidjson::SizeType>(step.index)];
      continue;
    }
    if (!at->IsObject()) {
      return InvalidArgumentError((i == 0 ? std::string("the configuration")
                                          : StepsText(path, i)) +
                                  " is " + KindName(*at) + ", not an object with keys");
    }
    auto it = FindMember(*at, step.member);
    if (it == at->MemberEnd()) {
      if (!create) {
        return NotFoundError(here + ": no such key" + DidYouMean(step.member, MemberNames(*at),
                                                                 i == 0 ? "" : StepsText(path, i) + "."));
      }
      at->AddMember(Value(step.member.c_str(), *allocator), Value(rapidjson::kObjectType),
                    *allocator);
      it = FindMember(*at, step.member);
    }
    at = &it->value;
  }
  return at;
}

}  // namespace

StatusOr<std::vector<KeyStep>> ParseKeyPath(std::string_view key) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("key '" + EscapeForMessage(key) + "': " + std::string(why) +
                                " (keys look like pull.interval_seconds or "
                                "plugins.load[0].options.dir)");
  };
  if (key.empty()) return bad("empty");
  std::vector<KeyStep> path;
  std::size_t i = 0;
  bool need_member = true;  // at the start and after a dot
  while (i < key.size()) {
    if (key[i] == '[') {
      if (need_member && path.empty()) return bad("starts with an index");
      if (need_member) return bad("an index after a dot");
      std::size_t close = key.find(']', i);
      if (close == std::string_view::npos) return bad("'[' without ']'");
      std::string_view digits = key.substr(i + 1, close - i - 1);
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        return bad("an index must be a number");
      }
      path.push_back(KeyStep{"", index});
      i = close + 1;
      if (i < key.size() && key[i] != '.' && key[i] != '[') return bad("text after ']'");
      continue;
    }
    if (key[i] == '.') {
      if (need_member) return bad("an empty part");
      need_member = true;
      ++i;
      continue;
    }
    std::size_t end = key.find_first_of(".[", i);
    if (end == std::string_view::npos) end = key.size();
    if (!need_member) return bad("a name must follow a dot");
    path.push_back(KeyStep{std::string(key.substr(i, end - i)), 0});
    need_member = false;
    i = end;
  }
  if (need_member) return bad("ends with a dot");
  return path;
}

StatusOr<const Value*> FindKey(const Value& root, const std::vector<KeyStep>& path,
                               std::string_view key) {
  // Walk does not change anything when it may not create.
  FHIRSYNC_ASSIGN_OR_RETURN(Value * found,
                            Walk(const_cast<Value&>(root), path, path.size(), false, nullptr));
  return const_cast<const Value*>(found);
}

void ParseValueText(std::string_view text, const Value* replaced,
                    rapidjson::Document::AllocatorType& allocator, Value* out) {
  if (replaced == nullptr || replaced->IsString()) {
    out->SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
    return;
  }
  rapidjson::Document parsed(&allocator);
  parsed.Parse(text.data(), text.size());
  if (parsed.HasParseError()) {
    out->SetString(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
    return;
  }
  out->CopyFrom(parsed, allocator);
}

Status SetKey(rapidjson::Document& doc, const std::vector<KeyStep>& path, std::string_view key,
              Value& value) {
  auto& allocator = doc.GetAllocator();
  FHIRSYNC_ASSIGN_OR_RETURN(Value * parent, Walk(doc, path, path.size() - 1, true, &allocator));
  const KeyStep& last = path.back();
  if (last.is_index()) {
    if (!parent->IsArray()) {
      return InvalidArgumentError(StepsText(path, path.size() - 1) + " is " + KindName(*parent) +
                                  ", not a list");
    }
    if (last.index >= parent->Size()) {
      return NotFoundError(std::string(key) + ": no such element (" +
                           StepsText(path, path.size() - 1) + " holds " +
                           std::to_string(parent->Size()) + "; 'fhirsync config add' appends)");
    }
    (*parent)[static_cast<rapidjson::SizeType>(last.index)] = value;
    return Status::Ok();
  }
  if (!parent->IsObject()) {
    return InvalidArgumentError(StepsText(path, path.size() - 1) + " is " + KindName(*parent) +
                                ", not an object with keys");
  }
  auto it = FindMember(*parent, last.member);
  if (it != parent->MemberEnd()) {
    it->value = value;
  } else {
    parent->AddMember(Value(last.member.c_str(), allocator), value, allocator);
  }
  return Status::Ok();
}

Status AppendToKey(rapidjson::Document& doc, const std::vector<KeyStep>& path,
                   std::string_view key, Value& value) {
  auto& allocator = doc.GetAllocator();
  FHIRSYNC_ASSIGN_OR_RETURN(Value * list, Walk(doc, path, path.size(), true, &allocator));
  // Walk creates a missing member as an empty object; a new list is meant.
  if (list->IsObject() && list->MemberCount() == 0) list->SetArray();
  if (!list->IsArray()) {
    return InvalidArgumentError(std::string(key) + " is " + KindName(*list) +
                                ", not a list ('fhirsync config set' replaces it)");
  }
  list->PushBack(value, allocator);
  return Status::Ok();
}

Status RemoveKey(rapidjson::Document& doc, const std::vector<KeyStep>& path,
                 std::string_view key) {
  FHIRSYNC_ASSIGN_OR_RETURN(Value * parent, Walk(doc, path, path.size() - 1, false, nullptr));
  const KeyStep& last = path.back();
  if (last.is_index()) {
    if (!parent->IsArray() || last.index >= parent->Size()) {
      return NotFoundError(std::string(key) + ": no such element");
    }
    parent->Erase(parent->Begin() + last.index);
    return Status::Ok();
  }
  if (!parent->IsObject()) return NotFoundError(std::string(key) + ": no such key");
  auto it = FindMember(*parent, last.member);
  if (it == parent->MemberEnd()) {
    return NotFoundError(std::string(key) + ": no such key" +
                         DidYouMean(last.member, MemberNames(*parent)));
  }
  parent->EraseMember(it);
  return Status::Ok();
}

void FlattenKeys(const Value& root, const std::string& prefix,
                 std::vector<std::pair<std::string, const Value*>>* out) {
  if (root.IsObject() && root.MemberCount() > 0) {
    for (const auto& member : root.GetObject()) {
      std::string name(member.name.GetString(), member.name.GetStringLength());
      FlattenKeys(member.value, prefix.empty() ? name : prefix + "." + name, out);
    }
    return;
  }
  // Lists of plain values read best on one line ("pull.types = [...]").
  bool nested = false;
  if (root.IsArray()) {
    for (const auto& item : root.GetArray()) nested = nested || item.IsObject() || item.IsArray();
  }
  if (nested) {
    for (rapidjson::SizeType i = 0; i < root.Size(); ++i) {
      FlattenKeys(root[i], prefix + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  out->emplace_back(prefix, &root);
}

std::string ValueText(const Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace fhirsync::cli
