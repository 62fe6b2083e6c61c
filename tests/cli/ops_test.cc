// The operator's path through the real `fhirsync` binary: `config` (get,
// set, add, unset, show and their refusals), FHIRSYNC_DIR, "did you mean",
// JSON errors under --json, and the man page and bash completion the build
// generates from the command table.

#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "cli_harness.h"
#include "fhirsync/config.h"

namespace fhirsync::cli_test {
namespace {

// The verbs `fhirsync --help` lists (the lines under "Verbs:").
std::vector<std::string> ListedVerbs() {
  ProcessResult r = Fhirsync({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> verbs;
  std::istringstream lines(r.out.substr(r.out.find("Verbs:\n") + 7));
  std::string line;
  while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
    verbs.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return verbs;
}

int FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

// stderr under --json: one JSON object per line, parsed.
rapidjson::Document JsonError(const ProcessResult& r) {
  rapidjson::Document doc;
  EXPECT_TRUE(ParseJson(r.err, &doc)) << r.err;
  EXPECT_TRUE(HasFields(doc, {"verb", "error", "code", "exit_code"})) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  return doc;
}

class ConfigVerbTest : public CliTest {
 protected:
  void SetUp() override { InitNode("config-node"); }
  std::string ConfigFile() const { return node_ + "/fhirsync.json"; }
};

TEST_F(ConfigVerbTest, GetSetAndShowReadTheSameFileAsEveryVerb) {
  ProcessResult get = Run("config", {"get", "pull.interval_seconds"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "60\n");

  ProcessResult set = Run("config", {"set", "pull.interval_seconds", "120"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("pull.interval_seconds = 120 (was 60)"), std::string::npos) << set.out;
  StatusOr<NodeConfig> config = LoadNodeConfig(node_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->pull.interval_seconds, 120);
  EXPECT_EQ(FileMode(ConfigFile()), 0600);

  // A string key takes the text as it is, even when it looks like JSON.
  ASSERT_EQ(Run("config", {"set", "store.path", "123"}).exit_code, 0);
  ASSERT_EQ(Run("config", {"set", "store.path", "store.sqlite"}).exit_code, 0);
  ASSERT_EQ(Run("config", {"set", "push.enabled", "false"}).exit_code, 0);
  ASSERT_EQ(Run("config", {"set", "pull.types", R"(["Patient","Observation"])"}).exit_code, 0);
  ASSERT_EQ(Run("config", {"add", "pull.types", "Encounter"}).exit_code, 0);
  config = LoadNodeConfig(node_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->push.enabled);
  EXPECT_EQ(config->store.path, "store.sqlite");
  EXPECT_EQ(config->pull.types, (std::vector<std::string>{"Patient", "Observation", "Encounter"}));

  rapidjson::Document value = RunJson("config", {"get", "pull.types"});
  ASSERT_TRUE(HasFields(value, {"key", "value"}));
  ASSERT_TRUE(value["value"].IsArray());
  EXPECT_EQ(value["value"].Size(), 3u);

  ProcessResult show = Run("config", {"show"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("pull.interval_seconds = 120\n"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("node_id = config-node\n"), std::string::npos) << show.out;
  rapidjson::Document all = RunJson("config", {"show"});
  ASSERT_TRUE(all.IsObject());
  EXPECT_EQ(all["pull"]["interval_seconds"].GetInt(), 120);
  // The JSON form is a configuration the reader takes as it is.
  StatusOr<NodeConfig> reread =
      ParseNodeConfig(Run("config", {"show", "--json"}).out, "config show --json");
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_EQ(SerializeNodeConfig(*reread), SerializeNodeConfig(*config));

  // unset: the key goes back to its default.
  ASSERT_EQ(Run("config", {"unset", "pull.interval_seconds"}).exit_code, 0);
  EXPECT_EQ(Run("config", {"get", "pull.interval_seconds"}).out, "60\n");
}

TEST_F(ConfigVerbTest, AWrongValueIsRefusedNamingTheKeyAndTheFileIsUnchanged) {
  const std::string before = ReadTextFile(ConfigFile());
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"set", "pull.interval_seconds", "soon"}, "pull.interval_seconds: expected an integer"},
      {{"set", "pull.interval_seconds", "0"}, "pull.interval_seconds: must be between 1 and"},
      {{"set", "pull.feed", "rss"}, "pull.feed: unknown feed 'rss' (atom or fhir-history)"},
      {{"set", "push.enabled", "maybe"}, "push.enabled: expected true or false"},
      {{"set", "store.backend", "postgresql"},
       "store.connection: required when store.backend is postgresql"},
      {{"set", "pull.intervl_seconds", "5"},
       "pull.intervl_seconds: unknown key (did you mean 'pull.interval_seconds'?)"},
      {{"set", "node_id", "has space"}, "node_id:"},
      {{"unset", "node_id"}, "node_id: required"},
      {{"add", "plugins.load", R"({"file":"x.so"})"}, "plugins.load[0].name: required"},
      {{"add", "pull.interval_seconds", "5"}, "pull.interval_seconds is a number, not a list"},
      {{"set", "server.rules", R"([{"name":"r","type":"Patient"}])"},
       "server.rules[0].required: list at least one element path"},
      {{"set", "pull..types", "x"}, "key 'pull..types': an empty part"},
      {{"frobnicate", "x"}, "unknown action 'frobnicate'"},
      {{"sett", "x", "y"}, "unknown action 'sett' (did you mean 'set'?)"},
  };
  for (const Case& c : cases) {
    ProcessResult r = Run("config", c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find("fhirsync config: " + c.message), std::string::npos)
        << "expected '" << c.message << "' in:\n" << r.err;
    EXPECT_EQ(ReadTextFile(ConfigFile()), before) << c.args[1];
  }
  // Reading a key that is not there is a failure, with a suggestion.
  ProcessResult get = Run("config", {"get", "server.prot"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_NE(get.err.find("server.prot: no such key (did you mean 'server.port'?)"),
            std::string::npos)
      << get.err;
  get = Run("config", {"get", "plugins.load[3]"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_NE(get.err.find("plugins.load[3]: no such element (plugins.load holds 0)"),
            std::string::npos)
      << get.err;
}

TEST_F(ConfigVerbTest, PluginsLoadIsEditedEntryByEntry) {
  ProcessResult add = Run("config", {"add", "plugins.load",
                                     R"({"name":"folder","options":{"dir":"/srv/usb"}})"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  ASSERT_EQ(Run("config", {"add", "plugins.load", R"({"name":"fhir","optional":true})"}).exit_code,
            0);
  EXPECT_EQ(Run("config", {"get", "plugins.load[0].options.dir"}).out, "/srv/usb\n");
  ProcessResult set = Run("config", {"set", "plugins.load[0].options.dir", "/media/stick"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  ASSERT_EQ(Run("config", {"set", "plugins.routes.Patient", "folder"}).exit_code, 0);
  StatusOr<NodeConfig> config = LoadNodeConfig(node_);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->plugins.load.size(), 2u);
  EXPECT_EQ(config->plugins.load[0].name, "folder");
  EXPECT_EQ(config->plugins.load[0].options.at("dir"), "/media/stick");
  EXPECT_TRUE(config->plugins.load[1].optional);
  EXPECT_EQ(config->plugins.routes.at("Patient"), "folder");

  rapidjson::Document removed = RunJson("config", {"unset", "plugins.load[0]"});
  ASSERT_TRUE(HasFields(removed, {"key", "value", "previous", "file"}));
  EXPECT_TRUE(removed["value"].IsObject());  // what is at [0] now: fhir
  EXPECT_STREQ(removed["previous"]["name"].GetString(), "folder");
  config = LoadNodeConfig(node_);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->plugins.load.size(), 1u);
  EXPECT_EQ(config->plugins.load[0].name, "fhir");
}

TEST_F(ConfigVerbTest, SetMendsAFileTheReaderRefuses) {
  // A hand edit broke the file; every verb now refuses it, naming the key.
  std::string text = ReadTextFile(ConfigFile());
  const std::string good = "\"interval_seconds\": 60";
  ASSERT_NE(text.find(good), std::string::npos) << text;
  text.replace(text.find(good), good.size(), "\"interval_seconds\": \"soon\"");
  WriteTextFile(ConfigFile(), text);
  ProcessResult stats = Run("stats");
  EXPECT_EQ(stats.exit_code, 1);
  EXPECT_NE(stats.err.find("pull.interval_seconds: expected an integer"), std::string::npos)
      << stats.err;
  ProcessResult mend = Run("config", {"set", "pull.interval_seconds", "90"});
  ASSERT_EQ(mend.exit_code, 0) << mend.err;
  EXPECT_EQ(Run("stats").exit_code, 0);
  EXPECT_EQ(Run("config", {"get", "pull.interval_seconds"}).out, "90\n");
}

TEST_F(ConfigVerbTest, WithoutANodeItSaysHowToMakeOne) {
  TempDir empty("fhirsync-config-empty");
  ProcessResult r = Fhirsync({"config", "set", "pull.interval_seconds", "5", "--dir", empty.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no such file (create the node with 'fhirsync init"), std::string::npos)
      << r.err;
}

// --- FHIRSYNC_DIR ------------------------------------------------------------

TEST_F(ConfigVerbTest, FhirsyncDirIsTheDefaultForDir) {
  TempDir elsewhere("fhirsync-cwd");
  ProcessOptions options;
  options.cwd = elsewhere.path();
  options.env = {"FHIRSYNC_DIR=" + node_};
  ProcessResult stats = Fhirsync({"stats", "--json"}, options);
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  rapidjson::Document doc;
  ASSERT_TRUE(ParseJson(stats.out, &doc));
  EXPECT_STREQ(doc["node_id"].GetString(), "config-node");

  ProcessResult set = Fhirsync({"config", "set", "push.interval_seconds", "45"}, options);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(Run("config", {"get", "push.interval_seconds"}).out, "45\n");
  EXPECT_FALSE(std::filesystem::exists(elsewhere.path() + "/fhirsync.json"));

  // --dir wins over the environment.
  TempDir other("fhirsync-other");
  ProcessResult init = Fhirsync({"init", "--dir", other.path(), "--node-id", "other"}, options);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ProcessResult get = Fhirsync({"config", "get", "node_id", "--dir", other.path()}, options);
  EXPECT_EQ(get.out, "other\n");
  // An empty FHIRSYNC_DIR is the current folder, as if it were unset.
  options.env = {"FHIRSYNC_DIR="};
  options.cwd = node_;
  EXPECT_EQ(Fhirsync({"config", "get", "node_id"}, options).out, "config-node\n");
}

// --- did you mean --------------------------------------------------------------

TEST(OperatorPolishTest, AMistypedVerbOrFlagGetsASuggestion) {
  ProcessResult verb = Fhirsync({"stauts"});
  EXPECT_EQ(verb.exit_code, 2);
  // Both are one edit away: both are named.
  EXPECT_NE(verb.err.find("unknown verb 'stauts' (did you mean 'stats' or 'status'?)"),
            std::string::npos)
      << verb.err;
  ProcessResult one = Fhirsync({"verfiy"});
  EXPECT_NE(one.err.find("unknown verb 'verfiy' (did you mean 'verify'?)"), std::string::npos)
      << one.err;
  ProcessResult help = Fhirsync({"help", "confg"});
  EXPECT_EQ(help.exit_code, 2);
  EXPECT_NE(help.err.find("(did you mean 'config'?)"), std::string::npos) << help.err;
  ProcessResult flag = Fhirsync({"stats", "--jsno"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("unknown flag --jsno (did you mean '--json'?)"), std::string::npos)
      << flag.err;
  ProcessResult single = Fhirsync({"changes", "-limit", "3"});
  EXPECT_EQ(single.exit_code, 2);
  EXPECT_NE(single.err.find("unknown flag -limit (did you mean '--limit'?)"), std::string::npos)
      << single.err;
  // Nothing near: no guess.
  ProcessResult far = Fhirsync({"frobnicate"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  ProcessResult far_flag = Fhirsync({"stats", "--colour"});
  EXPECT_EQ(far_flag.err.find("did you mean"), std::string::npos) << far_flag.err;
}

// --- JSON errors -----------------------------------------------------------------

TEST_F(ConfigVerbTest, ErrorsAreJsonOnStderrUnderJson) {
  ProcessResult missing = Run("get", {"Patient/nobody", "--json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(missing.out.empty()) << missing.out;
  rapidjson::Document doc = JsonError(missing);
  EXPECT_STREQ(doc["verb"].GetString(), "get");
  EXPECT_STREQ(doc["code"].GetString(), "not_found");
  EXPECT_EQ(doc["exit_code"].GetInt(), 1);
  EXPECT_NE(std::string(doc["error"].GetString()).find("Patient/nobody"), std::string::npos);

  ProcessResult usage = Run("stats", {"--jsno", "--json"});
  EXPECT_EQ(usage.exit_code, 2);
  doc = JsonError(usage);
  EXPECT_STREQ(doc["code"].GetString(), "usage");
  EXPECT_EQ(doc["exit_code"].GetInt(), 2);
  EXPECT_NE(std::string(doc["error"].GetString()).find("did you mean '--json'"),
            std::string::npos);

  ProcessResult verb = Fhirsync({"stauts", "--json"});
  EXPECT_EQ(verb.exit_code, 2);
  doc = JsonError(verb);
  EXPECT_STREQ(doc["verb"].GetString(), "");
  EXPECT_STREQ(doc["code"].GetString(), "usage");

  ProcessResult refused = Run("config", {"set", "pull.interval_seconds", "soon", "--json"});
  EXPECT_EQ(refused.exit_code, 2);
  doc = JsonError(refused);
  EXPECT_STREQ(doc["verb"].GetString(), "config");
  EXPECT_NE(std::string(doc["error"].GetString()).find("pull.interval_seconds: expected an integer"),
            std::string::npos);

  // An if-match conflict keeps its own code and exit status.
  ProcessOptions patient;
  patient.stdin_data = R"({"resourceType":"Patient","id":"p1"})";
  ASSERT_EQ(Run("put", {"-"}, patient).exit_code, 0);
  ProcessResult conflict = Run("put", {"-", "--if-match", "7", "--json"}, patient);
  EXPECT_EQ(conflict.exit_code, 3);
  doc = JsonError(conflict);
  EXPECT_STREQ(doc["code"].GetString(), "conflict");
  EXPECT_EQ(doc["exit_code"].GetInt(), 3);

  // Without --json the human format stays.
  ProcessResult plain = Run("get", {"Patient/nobody"});
  EXPECT_EQ(plain.err.rfind("fhirsync get: ", 0), 0u) << plain.err;
}

// --- the man page and the completion ------------------------------------------

TEST(GeneratedDocsTest, TheManPageHasEveryVerbWithItsHelp) {
  const std::string man = ReadTextFile(FHIRSYNC_MAN_PAGE);
  ASSERT_FALSE(man.empty()) << FHIRSYNC_MAN_PAGE;
  EXPECT_EQ(man.rfind(".\\\" Generated", 0), 0u);
  EXPECT_NE(man.find(".TH FHIRSYNC 1"), std::string::npos);
  EXPECT_NE(man.find(".SH ENVIRONMENT\n.TP\n.B FHIRSYNC_DIR"), std::string::npos);
  const std::vector<std::string> verbs = ListedVerbs();
  ASSERT_GE(verbs.size(), 20u);
  for (const std::string& verb : verbs) {
    EXPECT_NE(man.find("\n.SS " + verb + "\n"), std::string::npos) << verb;
    // The help's usage line, with roff's hyphens.
    ProcessResult help = Fhirsync({verb, "--help"});
    std::string usage = help.out.substr(0, help.out.find('\n'));
    std::string roff;
    for (char ch : usage) roff += ch == '-' ? std::string("\\-") : std::string(1, ch);
    EXPECT_NE(man.find(roff), std::string::npos) << verb << ": " << roff;
  }
  // groff, where installed, reads it without a warning.
  if (std::filesystem::exists("/usr/bin/groff")) {
    ProcessResult render = RunProcess({"/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z",
                                       FHIRSYNC_MAN_PAGE});
    EXPECT_EQ(render.exit_code, 0) << render.err;
    EXPECT_EQ(render.err, "");
  }
}

// Runs the completion function as bash would for `words` (the last one is
// being completed) and returns the candidates.
std::set<std::string> Complete(const std::vector<std::string>& words) {
  std::string array;
  for (const std::string& word : words) array += " '" + word + "'";
  const std::string script = "source '" + std::string(FHIRSYNC_BASH_COMPLETION) +
                             "'\nCOMP_WORDS=(" + array + ")\nCOMP_CWORD=" +
                             std::to_string(words.size() - 1) +
                             "\n_fhirsync\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n";
  ProcessResult r = RunProcess({"/bin/bash", "--norc", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

TEST(GeneratedDocsTest, TheCompletionOffersEveryVerbAndItsFlags) {
  const std::vector<std::string> verbs = ListedVerbs();
  std::set<std::string> all = Complete({"fhirsync", ""});
  for (const std::string& verb : verbs) EXPECT_TRUE(all.count(verb)) << verb;
  EXPECT_EQ(Complete({"fhirsync", "con"}), (std::set<std::string>{"config", "conflicts"}));
  EXPECT_EQ(Complete({"fhirsync", "config", "s"}), (std::set<std::string>{"set", "show"}));
  EXPECT_EQ(Complete({"fhirsync", "user", ""}),
            (std::set<std::string>{"add", "list", "remove"}));
  EXPECT_EQ(Complete({"fhirsync", "help", "ver"}), (std::set<std::string>{"verify"}));
  EXPECT_TRUE(Complete({"fhirsync", "sync", "--w"}).count("--watch"));
  // Every flag a verb's help names is offered for that verb.
  for (const std::string& verb : verbs) {
    std::set<std::string> flags = Complete({"fhirsync", verb, "--"});
    EXPECT_TRUE(flags.count("--help")) << verb;
    std::string help = Fhirsync({verb, "--help"}).out;
    if (help.find("--dir D") != std::string::npos) {
      EXPECT_TRUE(flags.count("--dir")) << verb;
    }
    if (help.find("--json") != std::string::npos) {
      EXPECT_TRUE(flags.count("--json")) << verb;
    }
  }
}

}  // namespace
}  // namespace fhirsync::cli_test
