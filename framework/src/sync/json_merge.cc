#include "sync/json_merge.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "fhirsync/base/fhir_json.h"
#include "fhirsync/base/json_depth.h"
#include "fhirsync/base/text_util.h"

namespace fhirsync::sync {
namespace {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = Document::AllocatorType;

StatusOr<Document> ParseSide(std::string_view text, const char* side) {
  // The parse and the merge recurse once per level; the remote side came
  // from the parent.
  FHIRSYNC_RETURN_IF_ERROR(
      CheckJsonDepth(text, kMaxJsonAnswerDepth, std::string(side) + " body"));
  Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError(std::string(side) + " body is not valid JSON: " +
                                rapidjson::GetParseError_En(doc.GetParseError()) +
                                " (at byte " + std::to_string(doc.GetErrorOffset()) + ")");
  }
  if (!doc.IsObject()) return InvalidArgumentError(std::string(side) + " body is not a JSON object");
  // Every node stamps its own version and time: they are not content.
  if (auto meta = doc.FindMember("meta"); meta != doc.MemberEnd() && meta->value.IsObject()) {
    meta->value.RemoveMember("versionId");
    meta->value.RemoveMember("lastUpdated");
    if (meta->value.ObjectEmpty()) doc.RemoveMember("meta");
  }
  return doc;
}

bool Same(const Value* a, const Value* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return *a == *b;
}

const Value* Member(const Value* object, const Value& name) {
  if (object == nullptr || !object->IsObject()) return nullptr;
  auto it = object->FindMember(name);
  return it == object->MemberEnd() ? nullptr : &it->value;
}

// The matching key of an array element: its `id`, else its `identifier`;
// empty when it has neither.
std::string ElementKey(const Value& element) {
  if (!element.IsObject()) return {};
  if (auto id = element.FindMember("id"); id != element.MemberEnd() && id->value.IsString()) {
    return "id=" + std::string(id->value.GetString(), id->value.GetStringLength());
  }
  if (auto identifier = element.FindMember("identifier"); identifier != element.MemberEnd()) {
    return "identifier=" + WriteJson(identifier->value);
  }
  return {};
}

// Element keys in array order, or nullopt when some element has no key or a
// key repeats (then the array cannot be matched by key).
std::optional<std::vector<std::string>> KeysOf(const Value* array) {
  std::vector<std::string> keys;
  if (array == nullptr) return keys;
  std::set<std::string> seen;
  for (const Value& element : array->GetArray()) {
    std::string key = ElementKey(element);
    if (key.empty() || !seen.insert(key).second) return std::nullopt;
    keys.push_back(std::move(key));
  }
  return keys;
}

class Merger {
 public:
  explicit Merger(Allocator& allocator) : allocator_(allocator) {}

  // Merges one member; returns false when the result is "absent".
  bool MergeValue(const Value* base, const Value* local, const Value* remote,
                  const std::string& path, Value& out) {
    if (Same(local, remote)) return Take(local, out);
    if (Same(local, base)) return Take(remote, out);
    if (Same(remote, base)) return Take(local, out);
    if (local != nullptr && remote != nullptr) {
      if (local->IsObject() && remote->IsObject() && (base == nullptr || base->IsObject())) {
        MergeObjects(base, *local, *remote, path, out);
        return true;
      }
      if (local->IsArray() && remote->IsArray() && (base == nullptr || base->IsArray()) &&
          MergeKeyedArrays(base, *local, *remote, path, out)) {
        return true;
      }
    }
    conflicts_.push_back(path.empty() ? std::string("(document)") : path);
    return Take(local, out);  // a placeholder; the result is not clean
  }

  void MergeObjects(const Value* base, const Value& local, const Value& remote,
                    const std::string& path, Value& out) {
    out.SetObject();
    auto merge_member = [&](const Value& name) {
      std::string child_path = (path.empty() ? "" : path + ".") +
                               std::string(name.GetString(), name.GetStringLength());
      Value merged;
      if (MergeValue(Member(base, name), Member(&local, name), Member(&remote, name), child_path,
                     merged)) {
        out.AddMember(Value(name, allocator_), merged, allocator_);
      }
    };
    for (const auto& member : local.GetObject()) merge_member(member.name);
    for (const auto& member : remote.GetObject()) {
      if (!local.HasMember(member.name)) merge_member(member.name);
    }
    // A member only the base has was removed on both sides: it stays out.
  }

  // False when the arrays cannot be matched by key (the caller then treats
  // the array as one value).
  bool MergeKeyedArrays(const Value* base, const Value& local, const Value& remote,
                        const std::string& path, Value& out) {
    auto base_keys = KeysOf(base);
    auto local_keys = KeysOf(&local);
    auto remote_keys = KeysOf(&remote);
    if (!base_keys || !local_keys || !remote_keys) return false;
    if (local_keys->empty() && remote_keys->empty()) return false;
    auto index = [](const std::vector<std::string>& keys) {
      std::map<std::string, std::size_t> map;
      for (std::size_t i = 0; i < keys.size(); ++i) map.emplace(keys[i], i);
      return map;
    };
    auto base_index = index(*base_keys);
    auto local_index = index(*local_keys);
    auto remote_index = index(*remote_keys);
    auto element = [](const Value* array, const std::map<std::string, std::size_t>& map,
                      const std::string& key) -> const Value* {
      auto it = map.find(key);
      return it == map.end() ? nullptr : &(*array)[static_cast<rapidjson::SizeType>(it->second)];
    };
    std::vector<std::string> order = *local_keys;
    for (const std::string& key : *remote_keys) {
      if (!local_index.count(key)) order.push_back(key);
    }
    out.SetArray();
    for (const std::string& key : order) {
      Value merged;
      if (MergeValue(element(base, base_index, key), element(&local, local_index, key),
                     element(&remote, remote_index, key),
                     path + "[" + EscapeForMessage(key, 60) + "]", merged)) {
        out.PushBack(merged, allocator_);
      }
    }
    return true;
  }

  std::vector<std::string>& conflicts() { return conflicts_; }

 private:
  bool Take(const Value* value, Value& out) {
    if (value == nullptr) return false;
    out.CopyFrom(*value, allocator_);
    return true;
  }

  Allocator& allocator_;
  std::vector<std::string> conflicts_;
};

}  // namespace

StatusOr<JsonMergeResult> MergeJson(std::string_view base, std::string_view local,
                                    std::string_view remote) {
  FHIRSYNC_ASSIGN_OR_RETURN(Document base_doc, ParseSide(base, "base"));
  FHIRSYNC_ASSIGN_OR_RETURN(Document local_doc, ParseSide(local, "local"));
  FHIRSYNC_ASSIGN_OR_RETURN(Document remote_doc, ParseSide(remote, "remote"));
  Document merged;
  Merger merger(merged.GetAllocator());
  merger.MergeObjects(&base_doc, local_doc, remote_doc, "", merged);
  JsonMergeResult result;
  result.conflicts = std::move(merger.conflicts());
  result.clean = result.conflicts.empty();
  if (result.clean) result.merged = WriteJson(merged);
  return result;
}

}  // namespace fhirsync::sync
