// fhirsync config: reads and changes the node's fhirsync.json by dotted key,
// checked by the same reader every verb uses (ParseNodeConfig).

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "command.h"
#include "config_edit.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/config.h"
#include "output.h"
#include "suggest.h"

namespace fhirsync::cli {
namespace {

constexpr char kHelp[] =
    "usage: fhirsync config get KEY | set KEY VALUE | add KEY VALUE | unset KEY | show\n"
    "                       [--json] [--dir D]\n"
    "\n"
    "Reads and changes the node's fhirsync.json (every key is described in\n"
    "docs/configuration.md). KEY is a dotted path: pull.interval_seconds,\n"
    "server.port, plugins.routes.Patient, plugins.load[0].options.dir.\n"
    "\n"
    "  get KEY          prints the value (defaults included): a string as itself,\n"
    "                   anything else as JSON\n"
    "  set KEY VALUE    sets the value. A string key takes VALUE as it is; any other\n"
    "                   takes it as JSON (60, true, [\"Patient\"], {\"name\": ...}).\n"
    "  add KEY VALUE    appends VALUE to the list at KEY (pull.types Patient;\n"
    "                   plugins.load '{\"name\":\"folder\",\"options\":{\"dir\":\"/usb\"}}')\n"
    "  unset KEY        removes the key (a setting goes back to its default), or the\n"
    "                   list element (plugins.load[1])\n"
    "  show             prints every key with its value (defaults included)\n"
    "\n"
    "A change is checked as the file is when a verb reads it, so a wrong key or value\n"
    "is refused naming the key ('pull.interval_seconds: expected an integer') and the\n"
    "file is left as it was. The file is rewritten whole with every key, mode 0600.\n"
    "A running 'serve' or 'sync --watch' reads it when it starts: restart it.\n"
    "\n"
    "  --json    get: print {key, value}; set/add/unset: {key, value, previous,\n"
    "            file}; show: the whole configuration as one JSON object\n"
    "  --dir D   the node folder (default: $FHIRSYNC_DIR or .)\n";

std::string ConfigPath(const std::string& dir) {
  return (std::filesystem::path(dir) / kConfigFileName).string();
}

// The configuration with every key (defaults filled in), as a JSON tree.
StatusOr<rapidjson::Document> FullDocument(const NodeConfig& config) {
  rapidjson::Document doc;
  std::string text = SerializeNodeConfig(config);
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) return InternalError("the serialised configuration is not JSON");
  return doc;
}

std::string DocumentText(const rapidjson::Value& doc) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The tree a change is made on: the file's configuration with every key
// when it reads as valid, so that a value's kind is known and a default can
// be changed; the file's own JSON when it does not, so that `config set`
// can mend the very key that makes it invalid.
StatusOr<rapidjson::Document> EditableDocument(const std::string& dir) {
  const std::string path = ConfigPath(dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFoundError(path + ": no such file (create the node with 'fhirsync init --dir " +
                         dir + "')");
  }
  std::ostringstream text;
  text << in.rdbuf();
  StatusOr<NodeConfig> config = ParseNodeConfig(text.str(), path);
  if (config.ok()) return FullDocument(*config);
  rapidjson::Document doc;
  doc.Parse(text.str().c_str(), text.str().size());
  if (doc.HasParseError() || !doc.IsObject()) return config.status();
  return doc;
}

int PrintValue(const std::string& key, const rapidjson::Value& value, bool json) {
  if (json) {
    JsonOutput out;
    out.StartObject();
    out.Field("key", key);
    out.Key("value");
    out.Raw(DocumentText(value));
    out.EndObject();
    out.Print();
  } else {
    std::cout << ValueText(value) << '\n';
  }
  return kExitOk;
}

class ConfigVerb {
 public:
  explicit ConfigVerb(CommandLine& cl, bool json) : cl_(cl), json_(json) {}

  int Get(const std::string& key) {
    StatusOr<std::vector<KeyStep>> parsed = ParseKeyPath(key);
    if (!parsed.ok()) return cl_.UsageError(parsed.status().message());
    const std::vector<KeyStep>& path = *parsed;
    StatusOr<NodeConfig> config = LoadNodeConfig(cl_.dir());
    if (!config.ok()) return cl_.Fail(config.status());
    StatusOr<rapidjson::Document> doc = FullDocument(*config);
    if (!doc.ok()) return cl_.Fail(doc.status());
    StatusOr<const rapidjson::Value*> value = FindKey(*doc, path, key);
    if (!value.ok()) return cl_.Fail(value.status());
    return PrintValue(key, **value, json_);
  }

  int Show() {
    StatusOr<NodeConfig> config = LoadNodeConfig(cl_.dir());
    if (!config.ok()) return cl_.Fail(config.status());
    StatusOr<rapidjson::Document> doc = FullDocument(*config);
    if (!doc.ok()) return cl_.Fail(doc.status());
    if (json_) {
      std::cout << DocumentText(*doc) << '\n';
      return kExitOk;
    }
    std::vector<std::pair<std::string, const rapidjson::Value*>> keys;
    FlattenKeys(*doc, "", &keys);
    for (const auto& [key, value] : keys) std::cout << key << " = " << ValueText(*value) << '\n';
    return kExitOk;
  }

  enum class Change { kSet, kAdd, kUnset };

  int Edit(Change change, const std::string& key, const std::string& value_text) {
    StatusOr<std::vector<KeyStep>> parsed = ParseKeyPath(key);
    if (!parsed.ok()) return cl_.UsageError(parsed.status().message());
    const std::vector<KeyStep>& path = *parsed;
    StatusOr<rapidjson::Document> doc = EditableDocument(cl_.dir());
    if (!doc.ok()) return cl_.Fail(doc.status());
    auto& allocator = doc->GetAllocator();

    StatusOr<const rapidjson::Value*> before = FindKey(*doc, path, key);
    rapidjson::Value previous;
    if (before.ok()) previous.CopyFrom(**before, allocator);
    // A misspelt key gets its suggestion from what the file holds.
    std::string hint;
    if (!before.ok()) {
      const std::string& message = before.status().message();
      if (std::size_t at = message.find(" (did you mean"); at != std::string::npos) {
        hint = message.substr(at);
      }
    }

    // The kind of value a key takes comes from the defaults, where the key
    // has one (a broken file may hold "soon" where a number belongs), else
    // from what the file holds (a list element's fields).
    StatusOr<rapidjson::Document> defaults = FullDocument(NodeConfig{});
    const rapidjson::Value* kind = nullptr;
    if (defaults.ok()) {
      StatusOr<const rapidjson::Value*> default_value = FindKey(*defaults, path, key);
      if (default_value.ok()) kind = *default_value;
    }
    if (kind == nullptr && before.ok()) kind = *before;

    rapidjson::Value value;
    Status edited;
    switch (change) {
      case Change::kSet:
        ParseValueText(value_text, kind, allocator, &value);
        edited = SetKey(*doc, path, key, value);
        break;
      case Change::kAdd:
        // A list's elements are strings (pull.types) or objects
        // (plugins.load): JSON when it parses, else the text.
        ParseValueText(value_text, &previous, allocator, &value);
        edited = AppendToKey(*doc, path, key, value);
        break;
      case Change::kUnset:
        edited = RemoveKey(*doc, path, key);
        break;
    }
    if (!edited.ok()) return edited.code() == StatusCode::kInvalidArgument
                                 ? cl_.UsageError(edited.message())
                                 : cl_.Fail(edited);

    // The one judge of a configuration: the reader every verb uses.
    const std::string file = ConfigPath(cl_.dir());
    StatusOr<NodeConfig> checked = ParseNodeConfig(DocumentText(*doc), file);
    if (!checked.ok()) {
      std::string why = checked.status().message();
      if (why.rfind(file + ": ", 0) == 0) why.erase(0, file.size() + 2);
      return cl_.UsageError(why + hint + "; " + kConfigFileName + " is unchanged");
    }
    if (Status saved = SaveNodeConfig(cl_.dir(), *checked); !saved.ok()) return cl_.Fail(saved);

    StatusOr<rapidjson::Document> now = FullDocument(*checked);
    if (!now.ok()) return cl_.Fail(now.status());
    StatusOr<const rapidjson::Value*> after = FindKey(*now, path, key);
    if (json_) {
      JsonOutput out;
      out.StartObject();
      out.Field("key", key);
      out.Key("value");
      if (after.ok()) {
        out.Raw(DocumentText(**after));
      } else {
        out.Null();
      }
      out.Key("previous");
      if (before.ok()) {
        out.Raw(DocumentText(previous));
      } else {
        out.Null();
      }
      out.Field("file", file);
      out.EndObject();
      out.Print();
      return kExitOk;
    }
    std::cout << key << " = " << (after.ok() ? ValueText(**after) : "(removed)");
    if (before.ok()) std::cout << " (was " << ValueText(previous) << ")";
    std::cout << "\nsaved " << file
              << "; a running 'fhirsync serve' or 'sync --watch' uses it once restarted\n";
    return kExitOk;
  }

 private:
  CommandLine& cl_;
  bool json_;
};

int RunConfig(const Invocation& invocation) {
  CommandLine cl(invocation);
  bool json = false;
  cl.flags().AddBool("json", &json);
  if (auto exit = cl.Parse(1, 3)) return *exit;
  const std::vector<std::string>& args = cl.positional();
  const std::string& action = args[0];
  ConfigVerb verb(cl, json);
  auto expect = [&](std::size_t n, const char* what) -> std::optional<int> {
    if (args.size() == n) return std::nullopt;
    return cl.UsageError("config " + action + " takes " + what);
  };
  if (action == "get") {
    if (auto exit = expect(2, "one KEY")) return *exit;
    return verb.Get(args[1]);
  }
  if (action == "show") {
    if (auto exit = expect(1, "no argument")) return *exit;
    return verb.Show();
  }
  if (action == "set" || action == "add") {
    if (auto exit = expect(3, "KEY VALUE")) return *exit;
    return verb.Edit(action == "set" ? ConfigVerb::Change::kSet : ConfigVerb::Change::kAdd,
                     args[1], args[2]);
  }
  if (action == "unset") {
    if (auto exit = expect(2, "one KEY")) return *exit;
    return verb.Edit(ConfigVerb::Change::kUnset, args[1], "");
  }
  return cl.UsageError("unknown action '" + EscapeForMessage(action) + "'" +
                       DidYouMean(action, {"get", "set", "add", "unset", "show"}) +
                       " (get, set, add, unset or show)");
}

}  // namespace

extern const Command kConfigCommand = {"config", "read or change fhirsync.json by dotted key",
                                       kHelp, &RunConfig};

}  // namespace fhirsync::cli
