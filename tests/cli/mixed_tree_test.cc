// `fhirsync init --parent` for a mixed FHIR / OpenMRS REST tree and for each
// kind of parent authentication (docs/operator-guide.md): real processes, a
// real parent (`serve`), the real OpenMRS REST representations of
// ../shared/testdata/openmrs-rest.

#include <sys/stat.h>

#include <string>

#include "cli_harness.h"
#include "support/serve_process.h"
#include "support/smart_token_server.h"

namespace fhirsync::cli_test {
namespace {

using ::fhirsync::testing::ServeProcess;

constexpr char kChildUser[] = "tablet";
constexpr char kChildPassword[] = "tablet-secret-1";
// The uuids of the two OpenMRS REST records in the test data.
constexpr char kRestPatient[] = "a65fc361-f6ac-40ba-8485-94749c061509";
constexpr char kRestLocation[] = "9a462730-d666-4518-b1d6-1c0620a9027c";

class MixedTreeTest : public ::testing::Test {
 protected:
  MixedTreeTest() : tmp_("fhirsync-mixed"), parent_dir_(tmp_.Sub("parent")) {}

  void SetUp() override {
    ProcessResult init = Fhirsync({"init", "--dir", parent_dir_, "--node-id", "district"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ProcessOptions password;
    password.stdin_data = std::string(kChildPassword) + "\n";
    ProcessResult user = Fhirsync(
        {"user", "add", kChildUser, "--role", "read,write", "--dir", parent_dir_}, password);
    ASSERT_EQ(user.exit_code, 0) << user.err;
  }

  ProcessResult Init(const std::string& dir, std::vector<std::string> flags,
                     const std::string& stdin_data = "") {
    std::vector<std::string> args{"init", "--dir", dir, "--node-id", "tablet-1"};
    args.insert(args.end(), flags.begin(), flags.end());
    ProcessOptions options;
    options.stdin_data = stdin_data;
    return Fhirsync(args, options);
  }

  void Put(const std::string& dir, const std::string& file, const std::string& type,
           const std::string& format) {
    ProcessResult put = Fhirsync({"put", file, "--format", format, "--type", type, "--dir", dir});
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }

  std::string WritePatient(const std::string& id, const std::string& family) {
    const std::string file = tmp_.Sub(id + ".json");
    WriteTextFile(file, "{\"resourceType\":\"Patient\",\"id\":\"" + id +
                            "\",\"name\":[{\"family\":\"" + family + "\"}]}");
    return file;
  }

  TempDir tmp_;
  std::string parent_dir_;
};

TEST_F(MixedTreeTest, InitLoadsThePluginEachListedTypeNeedsAndPullAndPushCarryBoth) {
  const std::string rest_data = kTestData + "/openmrs-rest/";
  Put(parent_dir_, rest_data + "create_patient_from_get.json", "patient", "openmrs-rest");
  Put(parent_dir_, rest_data + "create_location_from_get.json", "location", "openmrs-rest");
  Put(parent_dir_, WritePatient("fhir-p1", "Okafor"), "Patient", "fhir+json");
  ServeProcess parent(kBinary, parent_dir_);
  ASSERT_TRUE(parent.Start()) << parent.error();

  const std::string child = tmp_.Sub("child");
  ProcessResult init = Init(child,
                            {"--parent", parent.url(), "--parent-user", kChildUser, "--types",
                             "Patient,Encounter,obs,patient"},
                            std::string(kChildPassword) + "\n");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  rapidjson::Document config;
  ASSERT_TRUE(ParseJson(ReadTextFile(child + "/fhirsync.json"), &config));
  const rapidjson::Value& load = config["plugins"]["load"];
  ASSERT_EQ(load.Size(), 2u);
  EXPECT_STREQ(load[0]["name"].GetString(), "fhir");
  EXPECT_STREQ(load[0]["options"]["types"].GetString(), "Patient,Encounter");
  EXPECT_STREQ(load[0]["options"]["feed_types"].GetString(), "Patient,Encounter,obs,patient");
  EXPECT_STREQ(load[1]["name"].GetString(), "openmrs-rest");
  EXPECT_STREQ(load[1]["options"]["types"].GetString(), "obs,patient");

  ProcessResult pull = Fhirsync({"sync", "--once", "--pull", "--dir", child});
  ASSERT_EQ(pull.exit_code, 0) << pull.out << pull.err;
  ProcessResult rest = Fhirsync({"get", std::string("patient/") + kRestPatient, "--dir", child});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_NE(rest.out.find("Jonnea"), std::string::npos) << rest.out;
  ProcessResult fhir = Fhirsync({"get", "Patient/fhir-p1", "--dir", child});
  ASSERT_EQ(fhir.exit_code, 0) << fhir.err;
  EXPECT_NE(fhir.out.find("Okafor"), std::string::npos) << fhir.out;
  // Not subscribed: not pulled.
  ProcessResult location =
      Fhirsync({"get", std::string("location/") + kRestLocation, "--dir", child});
  EXPECT_NE(location.exit_code, 0) << location.out;

  // Edits of both kinds go back up, each through its own plugin.
  ProcessResult got = Fhirsync({"get", std::string("patient/") + kRestPatient, "--dir", child});
  std::string edited = got.out;
  const std::size_t at = edited.find("Jonnea");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 6, "Joanna");
  const std::string edited_file = tmp_.Sub("edited.json");
  WriteTextFile(edited_file, edited);
  Put(child, edited_file, "patient", "openmrs-rest");
  Put(child, WritePatient("fhir-p2", "Mensah"), "Patient", "fhir+json");
  ProcessResult push = Fhirsync({"sync", "--once", "--push", "--dir", child});
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  ProcessResult outbox = Fhirsync({"outbox", "--dir", child, "--json"});
  EXPECT_EQ(outbox.out.find("\"dead\""), std::string::npos) << outbox.out;

  ProcessResult up_rest =
      Fhirsync({"get", std::string("patient/") + kRestPatient, "--dir", parent_dir_});
  EXPECT_NE(up_rest.out.find("Joanna"), std::string::npos) << up_rest.out << up_rest.err;
  ProcessResult up_fhir = Fhirsync({"get", "Patient/fhir-p2", "--dir", parent_dir_});
  EXPECT_NE(up_fhir.out.find("Mensah"), std::string::npos) << up_fhir.out << up_fhir.err;
}

TEST_F(MixedTreeTest, InitRefusesATypeNoPluginCanCarry) {
  const std::string child = tmp_.Sub("child");
  const std::string password = std::string(kChildPassword) + "\n";
  ProcessResult history = Init(child,
                               {"--parent", "http://127.0.0.1:9", "--parent-user", kChildUser,
                                "--types", "Patient,patient", "--feed", "fhir-history"},
                               password);
  EXPECT_EQ(history.exit_code, 2) << history.err;
  EXPECT_NE(history.err.find("'patient' is an OpenMRS REST resource, which FHIR _history "
                             "cannot list"),
            std::string::npos)
      << history.err;

  const std::string empty_plugins = tmp_.Sub("no-plugins");
  std::filesystem::create_directories(empty_plugins);
  ProcessResult no_plugin = Init(child,
                                 {"--parent", "http://127.0.0.1:9", "--parent-user", kChildUser,
                                  "--types", "obs", "--plugin-dir", empty_plugins},
                                 password);
  EXPECT_EQ(no_plugin.exit_code, 2) << no_plugin.err;
  EXPECT_NE(no_plugin.err.find("carried only by the openmrs-rest plugin, which is not in"),
            std::string::npos)
      << no_plugin.err;

  ProcessResult neither = Init(child,
                               {"--parent", "http://127.0.0.1:9", "--parent-user", kChildUser,
                                "--types", "Patient,pa tient"},
                               password);
  EXPECT_EQ(neither.exit_code, 2) << neither.err;
  EXPECT_NE(neither.err.find("is neither a FHIR type nor an OpenMRS resource name"),
            std::string::npos)
      << neither.err;
  EXPECT_FALSE(std::filesystem::exists(child + "/fhirsync.json"));
}

TEST_F(MixedTreeTest, InitRefusesAuthFlagsThatCannotWork) {
  const std::string child = tmp_.Sub("child");
  const std::string url = "http://127.0.0.1:9";
  ProcessResult unknown = Init(child, {"--parent", url, "--parent-auth", "oauth"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--parent-auth: expected none, basic, bearer or smart, got 'oauth'"),
            std::string::npos)
      << unknown.err;

  ProcessResult no_user = Init(child, {"--parent", url, "--parent-auth", "basic"}, "pw\n");
  EXPECT_EQ(no_user.exit_code, 2);
  EXPECT_NE(no_user.err.find("--parent-auth basic needs --parent-user"), std::string::npos)
      << no_user.err;

  ProcessResult no_key =
      Init(child, {"--parent", url, "--parent-auth", "smart", "--parent-client-id", "c1"});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_NE(no_key.err.find("--parent-auth smart needs --parent-key FILE"), std::string::npos)
      << no_key.err;

  ProcessResult missing = Init(child, {"--parent", url, "--parent-auth", "smart",
                                       "--parent-client-id", "c1", "--parent-key",
                                       tmp_.Sub("absent.pem")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("absent.pem' cannot be read"), std::string::npos) << missing.err;

  // A folder where the key should be: it opens but reads as no key.
  ProcessResult unreadable = Init(child, {"--parent", url, "--parent-auth", "smart",
                                          "--parent-client-id", "c1", "--parent-key",
                                          tmp_.path()});
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_NE(unreadable.err.find("--parent-key:"), std::string::npos) << unreadable.err;

  const std::string p256 = tmp_.Sub("p256.pem");
  ASSERT_FALSE(::fhirsync::testing::WriteKey(p256, "p256").empty());
  ProcessResult weak = Init(child, {"--parent", url, "--parent-auth", "smart",
                                    "--parent-client-id", "c1", "--parent-key", p256});
  EXPECT_EQ(weak.exit_code, 2);
  EXPECT_NE(weak.err.find("EC on P-384 (ES384)"), std::string::npos) << weak.err;

  ProcessResult stray = Init(child, {"--parent", url, "--parent-auth", "bearer",
                                     "--parent-key", p256},
                             "tok\n");
  EXPECT_EQ(stray.exit_code, 2);
  EXPECT_NE(stray.err.find("--parent-key is for --parent-auth smart, not bearer"),
            std::string::npos)
      << stray.err;
  EXPECT_FALSE(std::filesystem::exists(child + "/fhirsync.json"));
}

TEST_F(MixedTreeTest, EachAuthKindIsWrittenWithItsSecretOutsideTheConfig) {
  const std::string url = "http://127.0.0.1:9";
  const std::string none = tmp_.Sub("none");
  ProcessResult init_none = Init(none, {"--parent", url});
  ASSERT_EQ(init_none.exit_code, 0) << init_none.err;
  rapidjson::Document none_config;
  ASSERT_TRUE(ParseJson(ReadTextFile(none + "/fhirsync.json"), &none_config));
  EXPECT_STREQ(none_config["parent"]["auth"].GetString(), "none");
  EXPECT_STREQ(none_config["parent"]["password_file"].GetString(), "");
  EXPECT_FALSE(std::filesystem::exists(none + "/parent.password"));

  const std::string smart = tmp_.Sub("smart");
  const std::string key = tmp_.Sub("child.pem");
  ASSERT_FALSE(::fhirsync::testing::WriteKey(key, "p384").empty());
  ProcessResult init_smart =
      Init(smart, {"--parent", url, "--parent-auth", "smart", "--parent-client-id", "tablet-1",
                   "--parent-key", key, "--parent-scope", "system/Patient.rs"});
  ASSERT_EQ(init_smart.exit_code, 0) << init_smart.err;
  rapidjson::Document smart_config;
  ASSERT_TRUE(ParseJson(ReadTextFile(smart + "/fhirsync.json"), &smart_config));
  const rapidjson::Value& parent = smart_config["parent"];
  EXPECT_STREQ(parent["auth"].GetString(), "smart");
  EXPECT_STREQ(parent["client_id"].GetString(), "tablet-1");
  EXPECT_EQ(std::string(parent["key_file"].GetString()), key);
  EXPECT_STREQ(parent["scope"].GetString(), "system/Patient.rs");
  EXPECT_FALSE(std::filesystem::exists(smart + "/parent.password"));
  EXPECT_FALSE(std::filesystem::exists(smart + "/parent.token"));
}

// A parent that issues bearer tokens (user add --token): a child with
// --parent-auth bearer keeps the token in a 0600 file, never in
// fhirsync.json, and pulls with it.
TEST_F(MixedTreeTest, ABearerChildPullsWithItsToken) {
  ProcessResult token = Fhirsync(
      {"user", "add", "tablet-token", "--role", "read,write", "--token", "--dir", parent_dir_});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  std::string secret = token.out;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == ' ')) secret.pop_back();
  secret = secret.substr(secret.find_last_of(" \n") + 1);
  ASSERT_FALSE(secret.empty()) << token.out;
  Put(parent_dir_, WritePatient("fhir-p1", "Okafor"), "Patient", "fhir+json");
  ServeProcess parent(kBinary, parent_dir_);
  ASSERT_TRUE(parent.Start()) << parent.error();

  const std::string child = tmp_.Sub("child");
  ProcessResult init = Init(child, {"--parent", parent.url(), "--parent-auth", "bearer"},
                            secret + "\n");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_EQ(ReadTextFile(child + "/fhirsync.json").find(secret), std::string::npos);
  struct stat info {};
  ASSERT_EQ(stat((child + "/parent.token").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadTextFile(child + "/parent.token"), secret);

  ProcessResult pull = Fhirsync({"sync", "--once", "--pull", "--dir", child});
  ASSERT_EQ(pull.exit_code, 0) << pull.out << pull.err;
  ProcessResult got = Fhirsync({"get", "Patient/fhir-p1", "--dir", child});
  EXPECT_NE(got.out.find("Okafor"), std::string::npos) << got.out << got.err;

  // A wrong token is refused as credentials are.
  WriteTextFile(child + "/parent.token", "not-the-token");
  ProcessResult refused = Fhirsync({"sync", "--once", "--pull", "--dir", child});
  EXPECT_NE(refused.exit_code, 0);
}

}  // namespace
}  // namespace fhirsync::cli_test
