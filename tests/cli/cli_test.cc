// The `fhirsync` program run as a real process: help, usage errors, init,
// bad configuration, and the single-resource verbs.

#include <sys/stat.h>

#include <filesystem>

#include "cli_harness.h"
#include "fhirsync/config.h"

namespace fhirsync::cli_test {
namespace {

const std::vector<std::string> kVerbs = {"init",    "put",     "get",    "delete",
                                         "history", "changes", "import", "stats",
                                         "plugins", "snapshot"};

constexpr char kPatient[] =
    R"({"resourceType":"Patient","id":"p1","name":[{"family":"Okafor","given":["Ada"]}]})";
constexpr char kPatientV2[] =
    R"({"resourceType":"Patient","id":"p1","name":[{"family":"Okafor","given":["Ada","N"]}]})";

// --- help and usage ----------------------------------------------------------

TEST(CliHelpTest, OverviewListsEveryVerb) {
  ProcessResult r = Fhirsync({"--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& verb : kVerbs) {
    EXPECT_NE(r.out.find("\n  " + verb + " "), std::string::npos) << verb << " missing:\n" << r.out;
  }
  EXPECT_EQ(Fhirsync({"help"}).out, r.out);
}

TEST(CliHelpTest, EveryVerbHasHelpThreeWays) {
  for (const std::string& verb : kVerbs) {
    ProcessResult flag = Fhirsync({verb, "--help"});
    ASSERT_EQ(flag.exit_code, 0) << verb << ": " << flag.err;
    EXPECT_EQ(flag.out.rfind("usage: fhirsync " + verb, 0), 0u) << flag.out;
    EXPECT_NE(flag.out.find("--dir D"), std::string::npos) << verb << " help lacks --dir";
    ProcessResult help = Fhirsync({"help", verb});
    ASSERT_EQ(help.exit_code, 0) << help.err;
    EXPECT_EQ(help.out, flag.out);
    EXPECT_EQ(Fhirsync({verb, "-h"}).out, flag.out);
  }
}

TEST(CliHelpTest, NoArgumentsIsAUsageError) {
  ProcessResult r = Fhirsync({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: fhirsync VERB"), std::string::npos) << r.err;
}

TEST(CliHelpTest, UnknownVerbIsAUsageError) {
  ProcessResult r = Fhirsync({"frobnicate", "--dir", "."});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fhirsync: unknown verb 'frobnicate'"), std::string::npos) << r.err;
  ProcessResult help = Fhirsync({"help", "frobnicate"});
  EXPECT_EQ(help.exit_code, 2);
  EXPECT_NE(help.err.find("unknown verb 'frobnicate'"), std::string::npos) << help.err;
}

TEST(CliHelpTest, UnknownFlagIsAUsageErrorNamingTheFlag) {
  ProcessResult r = Fhirsync({"stats", "--colour", "red"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fhirsync stats: unknown flag --colour"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: fhirsync stats"), std::string::npos) << r.err;
}

TEST(CliHelpTest, MissingAndMalformedValuesAreNamed) {
  ProcessResult r = Fhirsync({"changes", "--since"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fhirsync changes: --since needs a value"), std::string::npos) << r.err;
  r = Fhirsync({"changes", "--limit", "ten"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--limit: expected an integer, got 'ten'"), std::string::npos) << r.err;
  r = Fhirsync({"get", "Patient"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected TYPE/ID"), std::string::npos) << r.err;
  r = Fhirsync({"get"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fhirsync get: missing argument"), std::string::npos) << r.err;
  r = Fhirsync({"stats", "extra"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unexpected argument 'extra'"), std::string::npos) << r.err;
}

// --- init and configuration --------------------------------------------------

TEST_F(CliTest, InitWritesAValidConfigWithAUuidNodeId) {
  ProcessResult r = Fhirsync({"init", "--dir", node_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  StatusOr<NodeConfig> config = LoadNodeConfig(node_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node_id.size(), 36u) << config->node_id;
  EXPECT_EQ(config->node_id[8], '-');
  EXPECT_EQ(config->store.backend, "sqlite");
  EXPECT_NE(r.out.find("initialised node " + config->node_id), std::string::npos) << r.out;

  // A second node gets another id.
  ASSERT_EQ(Fhirsync({"init", "--dir", tmp_.Sub("other")}).exit_code, 0);
  StatusOr<NodeConfig> other = LoadNodeConfig(tmp_.Sub("other"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->node_id, config->node_id);
}

// The configuration holds password hashes and the store patient data:
// neither may be readable by other users, whatever the umask.
TEST_F(CliTest, NodeFilesAreOwnerOnly) {
  const mode_t old_umask = ::umask(0);  // the child inherits the loosest umask
  ProcessResult r = Fhirsync({"init", "--dir", node_, "--node-id", "private"});
  ::umask(old_umask);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  ProcessOptions password;
  password.stdin_data = "a long enough password\n";
  ProcessResult added = Run("user", {"add", "nurse", "--role", "read"}, password);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  auto mode_of = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(node_)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(mode_of(entry.path().string()), 0600u) << entry.path();
  }
  EXPECT_GE(files, 2);  // fhirsync.json and the store, at least
  EXPECT_EQ(mode_of(node_ + "/fhirsync.json"), 0600u);
}

TEST_F(CliTest, InitJsonAndGivenNodeId) {
  rapidjson::Document doc = [&] {
    ProcessResult r = Fhirsync({"init", "--dir", node_, "--node-id", "facility-7", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document d;
    EXPECT_TRUE(ParseJson(r.out, &d));
    return d;
  }();
  ASSERT_TRUE(HasFields(doc, {"node_id", "dir", "config_file", "backend"}));
  EXPECT_STREQ(doc["node_id"].GetString(), "facility-7");
  EXPECT_STREQ(doc["backend"].GetString(), "sqlite");
  EXPECT_EQ(LoadNodeConfig(node_)->node_id, "facility-7");
}

TEST_F(CliTest, InitRefusesToOverwriteWithoutForceAndKeepsTheStore) {
  InitNode("first");
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);

  ProcessResult again = Fhirsync({"init", "--dir", node_, "--node-id", "second"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("fhirsync init: "), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(LoadNodeConfig(node_)->node_id, "first");

  // --force rewrites the configuration and keeps the store and the node id.
  std::string config = ReadTextFile(node_ + "/fhirsync.json");
  config.replace(config.find("\"feed_page_size\": 100"), 21, "\"feed_page_size\": 7");
  WriteTextFile(node_ + "/fhirsync.json", config);
  ProcessResult forced = Fhirsync({"init", "--dir", node_, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(LoadNodeConfig(node_)->node_id, "first");
  EXPECT_EQ(LoadNodeConfig(node_)->server.feed_page_size, 100);
  ProcessResult get = Run("get", {"Patient/p1"});
  EXPECT_EQ(get.exit_code, 0) << get.err;

  // The store belongs to node "first": giving it to another id is refused
  // and the configuration stays as it was.
  ProcessResult other = Fhirsync({"init", "--dir", node_, "--node-id", "second", "--force"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("fhirsync init: cannot open the store: "), std::string::npos)
      << other.err;
  EXPECT_NE(other.err.find("first"), std::string::npos) << other.err;
  EXPECT_EQ(LoadNodeConfig(node_)->node_id, "first");
}

TEST_F(CliTest, InitRejectsBadNodeIdAndBackendFlags) {
  ProcessResult r = Fhirsync({"init", "--dir", node_, "--node-id", "bad id!"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("fhirsync init: --node-id: "), std::string::npos) << r.err;
  r = Fhirsync({"init", "--dir", node_, "--backend", "mysql"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--backend: expected sqlite or postgresql, got 'mysql'"),
            std::string::npos) << r.err;
  r = Fhirsync({"init", "--dir", node_, "--backend", "postgresql"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--connection is required with --backend postgresql"), std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(node_ + "/fhirsync.json"));
}

TEST_F(CliTest, MissingNodeSaysHowToCreateIt) {
  ProcessResult r = Run("stats");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fhirsync stats: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fhirsync init --dir"), std::string::npos) << r.err;
}

TEST_F(CliTest, UnknownConfigKeyIsNamed) {
  InitNode();
  std::string text = ReadTextFile(node_ + "/fhirsync.json");
  text.insert(text.find('{') + 1, R"("stroe": {},)");
  WriteTextFile(node_ + "/fhirsync.json", text);
  ProcessResult r = Run("stats");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fhirsync stats: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stroe: unknown key"), std::string::npos) << r.err;
}

TEST_F(CliTest, WrongConfigTypeIsNamed) {
  InitNode();
  std::string text = ReadTextFile(node_ + "/fhirsync.json");
  std::size_t at = text.find("\"feed_page_size\": 100");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, std::string("\"feed_page_size\": 100").size(), "\"feed_page_size\": \"big\"");
  WriteTextFile(node_ + "/fhirsync.json", text);
  ProcessResult r = Run("get", {"Patient/p1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("server.feed_page_size: expected an integer"), std::string::npos) << r.err;
}

// --- put / get / delete / history / changes ----------------------------------

TEST_F(CliTest, PutFromFileAndStdinThenGet) {
  InitNode();
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  ProcessResult put = Run("put", {tmp_.Sub("p.json")});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, "Patient/p1 version 1 created\n");

  ProcessOptions stdin_body;
  stdin_body.stdin_data = kPatientV2;
  put = Run("put", {"-"}, stdin_body);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, "Patient/p1 version 2 updated\n");
  put = Run("put", {}, stdin_body);  // no FILE: stdin as well
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, "Patient/p1 version 2 unchanged (same content)\n");

  ProcessResult get = Run("get", {"Patient/p1"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  rapidjson::Document body;
  ASSERT_TRUE(ParseJson(get.out, &body));
  EXPECT_STREQ(body["resourceType"].GetString(), "Patient");
  EXPECT_STREQ(body["id"].GetString(), "p1");
  EXPECT_STREQ(body["meta"]["versionId"].GetString(), "2");
  EXPECT_EQ(body["name"][0]["given"].Size(), 2u);

  ProcessResult v1 = Run("get", {"Patient/p1", "--version", "1"});
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  ASSERT_TRUE(ParseJson(v1.out, &body));
  EXPECT_STREQ(body["meta"]["versionId"].GetString(), "1");
  EXPECT_EQ(body["name"][0]["given"].Size(), 1u);
}

TEST_F(CliTest, PutAssignsAnIdWhenTheBodyHasNone) {
  InitNode();
  ProcessOptions options;
  options.stdin_data = R"({"resourceType":"Observation","status":"final"})";
  rapidjson::Document doc;
  ProcessResult put = Run("put", {"--json"}, options);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_TRUE(ParseJson(put.out, &doc));
  ASSERT_TRUE(HasFields(doc, {"type", "id", "version", "seq", "action", "changed", "last_updated"}));
  EXPECT_STREQ(doc["type"].GetString(), "Observation");
  EXPECT_EQ(std::string(doc["id"].GetString()).size(), 36u);
  EXPECT_EQ(doc["version"].GetInt64(), 1);
  EXPECT_STREQ(doc["action"].GetString(), "CREATED");
  EXPECT_TRUE(doc["changed"].GetBool());
  EXPECT_EQ(Run("get", {std::string("Observation/") + doc["id"].GetString()}).exit_code, 0);
}

TEST_F(CliTest, PutWithStaleIfMatchIsAConflictDistinctFromBadInput) {
  InitNode();
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  WriteTextFile(tmp_.Sub("p2.json"), kPatientV2);
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  ASSERT_EQ(Run("put", {tmp_.Sub("p2.json"), "--if-match", "1"}).exit_code, 0);

  ProcessResult stale = Run("put", {tmp_.Sub("p.json"), "--if-match", "1"});
  EXPECT_EQ(stale.exit_code, 3) << stale.err;
  EXPECT_NE(stale.err.find("fhirsync put: conflict: "), std::string::npos) << stale.err;

  ProcessResult exists = Run("put", {tmp_.Sub("p.json"), "--if-match", "0"});
  EXPECT_EQ(exists.exit_code, 3) << exists.err;

  WriteTextFile(tmp_.Sub("bad.json"), R"({"resourceType":"Patient","id":"p1",)");
  ProcessResult bad = Run("put", {tmp_.Sub("bad.json")});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("fhirsync put: "), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("not valid JSON"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("conflict"), std::string::npos) << bad.err;

  WriteTextFile(tmp_.Sub("noid.json"), R"({"resourceType":"Patient","id":"bad id"})");
  ProcessResult bad_id = Run("put", {tmp_.Sub("noid.json")});
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.err.find("bad id"), std::string::npos) << bad_id.err;

  // Nothing of the failed writes reached the store.
  rapidjson::Document history = RunJson("history", {"Patient/p1"});
  EXPECT_EQ(history["versions"].Size(), 2u);
  rapidjson::Document stats = RunJson("stats");
  EXPECT_EQ(stats["last_seq"].GetInt64(), 2);
}

TEST_F(CliTest, PutOfAMissingFileIsNamed) {
  InitNode();
  ProcessResult r = Run("put", {tmp_.Sub("nope.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.json: cannot open"), std::string::npos) << r.err;
}

TEST_F(CliTest, PutOfAnOversizeBodyIsRefusedWithoutReadingItAll) {
  InitNode();
  std::string config = ReadTextFile(node_ + "/fhirsync.json");
  std::size_t at = config.find("\"max_body_bytes\": ");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, config.find_first_of(",\n}", at + 18) - at, "\"max_body_bytes\": 1000");
  WriteTextFile(node_ + "/fhirsync.json", config);
  ProcessOptions huge;
  huge.stdin_data = R"({"resourceType":"Basic","id":"big","text":")" + std::string(8 << 20, 'x') +
                    "\"}";
  ProcessResult r = Run("put", {"-"}, huge);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fhirsync put: stdin: body is larger than store.max_body_bytes (1000 bytes)"),
            std::string::npos) << r.err;
  EXPECT_EQ(RunJson("stats")["last_seq"].GetInt64(), 0);
}

TEST_F(CliTest, PutOpenmrsRestBodyKeyedByResourceNameAndUuid) {
  InitNode();
  std::string file = kTestData + "/openmrs-rest/create_patient_from_get.json";
  rapidjson::Document source;
  ASSERT_TRUE(ParseJson(ReadTextFile(file), &source));
  std::string uuid = source["uuid"].GetString();

  ProcessResult usage = Run("put", {file, "--format", "openmrs-rest"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--type is required"), std::string::npos) << usage.err;

  ProcessResult put = Run("put", {file, "--format", "openmrs-rest", "--type", "patient"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.out, "patient/" + uuid + " version 1 created\n");
  rapidjson::Document got = RunJson("get", {"patient/" + uuid});
  EXPECT_STREQ(got["format"].GetString(), "openmrs-rest");
  EXPECT_STREQ(got["resource"]["uuid"].GetString(), uuid.c_str());
}

TEST_F(CliTest, GetJsonHasEveryField) {
  InitNode();
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  rapidjson::Document doc = RunJson("get", {"Patient/p1"});
  ASSERT_TRUE(HasFields(doc, {"type", "id", "version", "last_updated", "deleted", "format",
                              "content_hash", "resource"}));
  EXPECT_EQ(doc["version"].GetInt64(), 1);
  EXPECT_FALSE(doc["deleted"].GetBool());
  EXPECT_STREQ(doc["format"].GetString(), "fhir+json");
  EXPECT_EQ(std::string(doc["content_hash"].GetString()).size(), 64u);
  EXPECT_STREQ(doc["resource"]["name"][0]["family"].GetString(), "Okafor");
}

TEST_F(CliTest, GetOfAnUnknownResourceFails) {
  InitNode();
  ProcessResult r = Run("get", {"Patient/nobody"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fhirsync get: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Patient/nobody"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(CliTest, DeleteMakesATombstoneThatGetReports) {
  InitNode();
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);

  ProcessResult stale = Run("delete", {"Patient/p1", "--if-match", "7"});
  EXPECT_EQ(stale.exit_code, 3);
  EXPECT_NE(stale.err.find("fhirsync delete: conflict: "), std::string::npos) << stale.err;

  ProcessResult del = Run("delete", {"Patient/p1", "--if-match", "1"});
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_EQ(del.out, "Patient/p1 deleted (version 2)\n");

  ProcessResult get = Run("get", {"Patient/p1"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_TRUE(get.out.empty()) << get.out;
  EXPECT_NE(get.err.find("fhirsync get: Patient/p1 is deleted (version 2"), std::string::npos)
      << get.err;

  ProcessResult get_json = Run("get", {"Patient/p1", "--json"});
  EXPECT_EQ(get_json.exit_code, 1);
  rapidjson::Document doc;
  ASSERT_TRUE(ParseJson(get_json.out, &doc));
  EXPECT_TRUE(doc["deleted"].GetBool());
  EXPECT_FALSE(doc.HasMember("resource"));

  // The version before the deletion is still readable.
  EXPECT_EQ(Run("get", {"Patient/p1", "--version", "1"}).exit_code, 0);

  ProcessResult again = Run("delete", {"Patient/p1", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ASSERT_TRUE(ParseJson(again.out, &doc));
  EXPECT_FALSE(doc["changed"].GetBool());
  EXPECT_STREQ(doc["action"].GetString(), "DELETED");

  ProcessResult never = Run("delete", {"Patient/never"});
  EXPECT_EQ(never.exit_code, 1);
  EXPECT_NE(never.err.find("Patient/never"), std::string::npos) << never.err;
}

TEST_F(CliTest, HistoryListsVersionsNewestFirst) {
  InitNode();
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  WriteTextFile(tmp_.Sub("p2.json"), kPatientV2);
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  ASSERT_EQ(Run("put", {tmp_.Sub("p2.json")}).exit_code, 0);
  ASSERT_EQ(Run("delete", {"Patient/p1"}).exit_code, 0);

  rapidjson::Document doc = RunJson("history", {"Patient/p1"});
  ASSERT_TRUE(HasFields(doc, {"type", "id", "versions"}));
  const rapidjson::Value& versions = doc["versions"];
  ASSERT_EQ(versions.Size(), 3u);
  for (rapidjson::SizeType i = 0; i < 3; ++i) {
    ASSERT_TRUE(HasFields(versions[i], {"version", "last_updated", "deleted", "format",
                                        "content_hash"}));
    EXPECT_EQ(versions[i]["version"].GetInt64(), 3 - static_cast<int>(i));
  }
  EXPECT_TRUE(versions[0]["deleted"].GetBool());
  EXPECT_FALSE(versions[0].HasMember("resource"));
  EXPECT_STREQ(versions[2]["resource"]["meta"]["versionId"].GetString(), "1");

  ProcessResult text = Run("history", {"Patient/p1"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Patient/p1: 3 versions"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("deleted"), std::string::npos) << text.out;

  ProcessResult missing = Run("history", {"Patient/none"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("Patient/none"), std::string::npos) << missing.err;
}

TEST_F(CliTest, ChangesPagesFiltersAndHasFields) {
  InitNode("changes-node");
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  WriteTextFile(tmp_.Sub("p2.json"), kPatientV2);
  WriteTextFile(tmp_.Sub("o.json"), R"({"resourceType":"Organization","id":"o1","name":"Clinic"})");
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  ASSERT_EQ(Run("put", {tmp_.Sub("o.json")}).exit_code, 0);
  ASSERT_EQ(Run("put", {tmp_.Sub("p2.json")}).exit_code, 0);
  ASSERT_EQ(Run("delete", {"Organization/o1"}).exit_code, 0);

  rapidjson::Document all = RunJson("changes");
  ASSERT_TRUE(HasFields(all, {"changes", "next_since"}));
  const rapidjson::Value& changes = all["changes"];
  ASSERT_EQ(changes.Size(), 4u);
  const char* actions[] = {"CREATED", "CREATED", "UPDATED", "DELETED"};
  for (rapidjson::SizeType i = 0; i < 4; ++i) {
    ASSERT_TRUE(HasFields(changes[i], {"seq", "action", "type", "id", "version", "at", "origin",
                                       "content_hash"}));
    EXPECT_STREQ(changes[i]["action"].GetString(), actions[i]);
    EXPECT_STREQ(changes[i]["origin"].GetString(), "changes-node");
    if (i > 0) {
      EXPECT_GT(changes[i]["seq"].GetInt64(), changes[i - 1]["seq"].GetInt64());
    }
  }
  EXPECT_EQ(all["next_since"].GetInt64(), changes[3]["seq"].GetInt64());

  std::string second_seq = std::to_string(changes[1]["seq"].GetInt64());
  rapidjson::Document page = RunJson("changes", {"--since", second_seq, "--limit", "1"});
  ASSERT_EQ(page["changes"].Size(), 1u);
  EXPECT_STREQ(page["changes"][0]["action"].GetString(), "UPDATED");
  EXPECT_EQ(page["next_since"].GetInt64(), changes[2]["seq"].GetInt64());

  rapidjson::Document orgs = RunJson("changes", {"--type", "Organization"});
  ASSERT_EQ(orgs["changes"].Size(), 2u);
  for (const auto& c : orgs["changes"].GetArray()) EXPECT_STREQ(c["type"].GetString(), "Organization");

  ProcessResult text = Run("changes", {"--limit", "2"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Patient/p1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("more may follow"), std::string::npos) << text.out;
}

TEST_F(CliTest, StatsJsonCountsLiveDeletedAndOutbox) {
  InitNode("stats-node");
  WriteTextFile(tmp_.Sub("p.json"), kPatient);
  WriteTextFile(tmp_.Sub("o.json"), R"({"resourceType":"Organization","id":"o1","name":"Clinic"})");
  ASSERT_EQ(Run("put", {tmp_.Sub("p.json")}).exit_code, 0);
  ASSERT_EQ(Run("put", {tmp_.Sub("o.json")}).exit_code, 0);
  ASSERT_EQ(Run("delete", {"Organization/o1"}).exit_code, 0);

  rapidjson::Document doc = RunJson("stats");
  ASSERT_TRUE(HasFields(doc, {"node_id", "types", "live", "deleted", "last_seq", "outbox_pending"}));
  EXPECT_STREQ(doc["node_id"].GetString(), "stats-node");
  ASSERT_EQ(doc["types"].Size(), 2u);
  EXPECT_STREQ(doc["types"][0]["type"].GetString(), "Organization");
  EXPECT_EQ(doc["types"][0]["live"].GetInt64(), 0);
  EXPECT_EQ(doc["types"][0]["deleted"].GetInt64(), 1);
  EXPECT_STREQ(doc["types"][1]["type"].GetString(), "Patient");
  EXPECT_EQ(doc["types"][1]["live"].GetInt64(), 1);
  EXPECT_EQ(doc["live"].GetInt64(), 1);
  EXPECT_EQ(doc["deleted"].GetInt64(), 1);
  EXPECT_EQ(doc["last_seq"].GetInt64(), 3);
  EXPECT_EQ(doc["outbox_pending"].GetInt64(), 3);

  ProcessResult text = Run("stats");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("node stats-node"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("pending outbox   3"), std::string::npos) << text.out;
}

TEST_F(CliTest, DirDefaultsToTheWorkingFolder) {
  ProcessOptions in_node;
  in_node.cwd = tmp_.path();
  ProcessResult init = Fhirsync({"init", "--node-id", "here"}, in_node);
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(LoadNodeConfig(tmp_.path())->node_id, "here");
  ProcessResult stats = Fhirsync({"stats"}, in_node);
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("node here"), std::string::npos) << stats.out;
}

}  // namespace
}  // namespace fhirsync::cli_test
