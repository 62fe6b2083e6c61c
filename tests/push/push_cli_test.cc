// The push-side verbs of the real `fhirsync` program (sync --push, outbox,
// conflicts, retry, discard, audit) with the folder transport as the parent:
// a real plugin module, real SQLite stores, real processes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fhirsync/config.h"
#include "fhirsync/credentials.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using testing::ProcessOptions;
using testing::ProcessResult;

ProcessResult Fhirsync(const std::vector<std::string>& args, const ProcessOptions& options = {}) {
  std::vector<std::string> argv{FHIRSYNC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunProcess(argv, options);
}

ProcessOptions Input(const std::string& text) {
  ProcessOptions options;
  options.stdin_data = text;
  return options;
}

rapidjson::Document Json(const ProcessResult& r) {
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  EXPECT_FALSE(doc.HasParseError()) << r.out << r.err;
  return doc;
}

std::string Patient(const std::string& id, const std::string& gender) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","gender":")" + gender + "\"}";
}

class PushCliTest : public ::testing::Test {
 protected:
  PushCliTest() : tmp_("fhirsync-push-cli"), folder_(tmp_.Sub("parent")) {
    std::filesystem::create_directories(folder_);
  }

  // A child node whose parent is the shared folder.
  std::string MakeNode(const std::string& name) {
    std::string dir = tmp_.Sub(name);
    ProcessResult r = Fhirsync({"init", "--dir", dir, "--node-id", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    StatusOr<NodeConfig> config = LoadNodeConfig(dir);
    EXPECT_TRUE(config.ok()) << config.status();
    config->parent.url = "file://" + folder_;
    config->parent.node_id = "usb-parent";
    config->push.max_attempts = 3;
    PluginSpec folder;
    folder.name = "folder";
    folder.file = FHIRSYNC_FOLDER_PLUGIN;
    folder.options["dir"] = folder_;
    config->plugins.load = {folder};
    StatusOr<UserConfig> admin = MakeUser("root", "s3cret", {"admin"});
    StatusOr<UserConfig> clerk = MakeUser("clerk", "pw", {"read", "write"});
    EXPECT_TRUE(admin.ok() && clerk.ok());
    config->server.users = {*admin, *clerk};
    EXPECT_TRUE(SaveNodeConfig(dir, *config).ok());
    return dir;
  }

  void Put(const std::string& dir, const std::string& id, const std::string& gender) {
    ProcessResult r = Fhirsync({"put", "-", "--dir", dir}, Input(Patient(id, gender)));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  rapidjson::Document Sync(const std::string& dir) {
    ProcessResult r = Fhirsync({"sync", "--push", "--once", "--json", "--dir", dir});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return Json(r);
  }

  std::string Gender(const std::string& dir, const std::string& id) {
    ProcessResult r = Fhirsync({"get", "Patient/" + id, "--dir", dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    rapidjson::Document doc;
    doc.Parse(r.out.c_str());
    return doc.HasParseError() ? "" : doc["gender"].GetString();
  }

  // Every body the folder parent holds, concatenated (its change files).
  std::string FolderText() {
    std::string all;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(folder_ + "/changes")) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      all += text.str() + "\n";
    }
    return all;
  }

  // Node `b` holds a dead-lettered conflict on Patient/p: `a` created it on
  // the parent first with another gender.
  std::string MakeConflict(const std::string& a, const std::string& b) {
    Put(a, "p", "male");
    Put(b, "p", "female");
    EXPECT_EQ(Sync(a)["sent"].GetInt(), 1);
    rapidjson::Document report = Sync(b);
    EXPECT_EQ(report["conflicts"].GetInt(), 1);
    ProcessResult list = Fhirsync({"conflicts", "--json", "--dir", b});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    rapidjson::Document conflicts = Json(list);
    EXPECT_EQ(conflicts.Size(), 1u);
    return conflicts.Size() == 1 ? std::to_string(conflicts[0]["conflict_id"].GetInt64()) : "0";
  }

  testing::TempDir tmp_;
  std::string folder_;
};

TEST_F(PushCliTest, HelpForEveryVerb) {
  for (const std::string verb : {"sync", "outbox", "retry", "discard", "resubmit", "conflicts",
                                 "audit"}) {
    ProcessResult r = Fhirsync({verb, "--help"});
    EXPECT_EQ(r.exit_code, 0) << verb;
    EXPECT_EQ(r.out.rfind("usage: fhirsync " + verb, 0), 0u) << r.out;
    EXPECT_THAT(r.out, HasSubstr("--dir D"));
  }
}

TEST_F(PushCliTest, PushesTheOutboxAndAuditsIt) {
  std::string a = MakeNode("a");
  Put(a, "p1", "male");
  Put(a, "p2", "female");
  ProcessResult outbox = Fhirsync({"outbox", "--json", "--dir", a});
  ASSERT_EQ(outbox.exit_code, 0) << outbox.err;
  rapidjson::Document items = Json(outbox);
  ASSERT_EQ(items["items"].Size(), 2u);
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "pending");
  EXPECT_FALSE(items["paused"].GetBool());

  rapidjson::Document report = Sync(a);
  EXPECT_EQ(report["sent"].GetInt(), 2);
  EXPECT_EQ(report["dead_lettered"].GetInt(), 0);
  EXPECT_THAT(FolderText(), HasSubstr("\"gender\":\"female\""));

  outbox = Fhirsync({"outbox", "--dir", a});
  EXPECT_THAT(outbox.out, HasSubstr("outbox is empty"));
  ProcessResult audit = Fhirsync({"audit", "--json", "--status", "accepted", "--dir", a});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  rapidjson::Document rows = Json(audit);
  ASSERT_EQ(rows.Size(), 2u);
  EXPECT_STREQ(rows[0]["operation"].GetString(), "push");
  EXPECT_STREQ(rows[0]["transport"].GetString(), "folder");
  // An edit goes with If-Match of the agreed version and is accepted.
  Put(a, "p1", "other");
  EXPECT_EQ(Sync(a)["sent"].GetInt(), 1);
  EXPECT_THAT(Fhirsync({"audit", "--since", "2000-01-01", "--dir", a}).out, HasSubstr("accepted"));
}

TEST_F(PushCliTest, ConflictResolvedByTakingTheServerVersion) {
  std::string a = MakeNode("a");
  std::string b = MakeNode("b");
  std::string id = MakeConflict(a, b);
  ProcessResult outbox = Fhirsync({"outbox", "--json", "--dir", b});
  rapidjson::Document items = Json(outbox);
  ASSERT_EQ(items["items"].Size(), 1u);
  EXPECT_STREQ(items["items"][0]["state"].GetString(), "dead");
  EXPECT_STREQ(items["items"][0]["class"].GetString(), "conflict");
  ProcessResult show = Fhirsync({"conflicts", "show", id, "--json", "--dir", b});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  rapidjson::Document c = Json(show);
  EXPECT_STREQ(c["local"]["gender"].GetString(), "female");
  EXPECT_STREQ(c["server"]["gender"].GetString(), "male");

  ProcessResult resolve = Fhirsync({"conflicts", "resolve", id, "--take", "server", "--dir", b});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  EXPECT_THAT(resolve.out, HasSubstr("took the server's version"));
  EXPECT_EQ(Gender(b, "p"), "male");
  EXPECT_EQ(Sync(b)["requests"].GetInt(), 0);
  ProcessResult again = Fhirsync({"conflicts", "resolve", id, "--take", "server", "--dir", b});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already resolved"));
}

TEST_F(PushCliTest, ConflictResolvedByTakingTheLocalVersion) {
  std::string a = MakeNode("a");
  std::string b = MakeNode("b");
  std::string id = MakeConflict(a, b);
  ProcessResult resolve = Fhirsync({"conflicts", "resolve", id, "--take", "local", "--dir", b});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  rapidjson::Document report = Sync(b);
  EXPECT_EQ(report["sent"].GetInt(), 1);
  EXPECT_EQ(Gender(b, "p"), "female");
  ProcessResult outbox = Fhirsync({"outbox", "--json", "--dir", b});
  EXPECT_EQ(Json(outbox)["items"].Size(), 0u);
}

TEST_F(PushCliTest, ConflictResolvedWithAMergedFile) {
  std::string a = MakeNode("a");
  std::string b = MakeNode("b");
  std::string id = MakeConflict(a, b);
  std::string file = tmp_.Sub("merged.json");
  std::ofstream(file) << Patient("p", "unknown");
  ProcessResult resolve = Fhirsync({"conflicts", "resolve", id, "--take", file, "--dir", b});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  EXPECT_EQ(Sync(b)["sent"].GetInt(), 1);
  EXPECT_EQ(Gender(b, "p"), "unknown");
  EXPECT_THAT(FolderText(), HasSubstr("\"gender\":\"unknown\""));
  ProcessResult bad = Fhirsync({"conflicts", "resolve", "99", "--take", "server", "--dir", b});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("conflict 99 does not exist"));
}

TEST_F(PushCliTest, DiscardRestoresTheServerCopy) {
  std::string a = MakeNode("a");
  std::string b = MakeNode("b");
  MakeConflict(a, b);
  rapidjson::Document items = Json(Fhirsync({"outbox", "--json", "--dir", b}));
  std::string seq = std::to_string(items["items"][0]["seq"].GetInt64());
  ProcessResult discard = Fhirsync({"discard", seq, "--dir", b});
  ASSERT_EQ(discard.exit_code, 0) << discard.err;
  EXPECT_EQ(Gender(b, "p"), "male");
  ProcessResult audit = Fhirsync({"audit", "--json", "--status", "discarded", "--dir", b});
  rapidjson::Document rows = Json(audit);
  ASSERT_EQ(rows.Size(), 1u);
  EXPECT_THAT(rows[0]["message"].GetString(), HasSubstr("\"gender\":\"female\""));
  EXPECT_EQ(Json(Fhirsync({"outbox", "--json", "--dir", b}))["items"].Size(), 0u);
}

TEST_F(PushCliTest, ForcedRetryNeedsAnAdminAndOverwrites) {
  std::string a = MakeNode("a");
  std::string b = MakeNode("b");
  MakeConflict(a, b);
  rapidjson::Document items = Json(Fhirsync({"outbox", "--json", "--dir", b}));
  std::string seq = std::to_string(items["items"][0]["seq"].GetInt64());

  ProcessResult anonymous = Fhirsync({"retry", seq, "--force", "--dir", b});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("needs admin credentials"));
  ProcessResult clerk = Fhirsync({"retry", seq, "--force", "--user", "clerk", "--dir", b},
                                 Input("pw\n"));
  EXPECT_EQ(clerk.exit_code, 1);
  EXPECT_THAT(clerk.err, HasSubstr("does not have the admin role"));
  ProcessResult wrong = Fhirsync({"retry", seq, "--force", "--user", "root", "--dir", b},
                                 Input("nope\n"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("password is wrong"));

  // A plain retry sends it again with If-Match: still a conflict.
  ProcessResult plain = Fhirsync({"retry", seq, "--dir", b});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_THAT(plain.out, HasSubstr("re-queued 1 item(s) of Patient/p"));

  ProcessResult forced = Fhirsync({"retry", seq, "--force", "--user", "root", "--dir", b},
                                  Input("s3cret\n"));
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  rapidjson::Document report = Sync(b);
  EXPECT_EQ(report["sent"].GetInt(), 1);
  EXPECT_EQ(Json(Fhirsync({"conflicts", "--json", "--dir", b})).Size(), 0u);
  ProcessResult retries = Fhirsync({"audit", "--operation", "retry", "--json", "--dir", b});
  EXPECT_EQ(Json(retries).Size(), 2u);
}

TEST_F(PushCliTest, UsageAndStateErrorsAreNamed) {
  std::string a = MakeNode("a");
  ProcessResult both = Fhirsync({"retry", "3", "--all", "--dir", a});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.err, HasSubstr("give one outbox SEQ or --all"));
  ProcessResult word = Fhirsync({"retry", "x1", "--dir", a});
  EXPECT_EQ(word.exit_code, 2);
  EXPECT_THAT(word.err, HasSubstr("'x1' is not an outbox seq"));
  ProcessResult unknown = Fhirsync({"retry", "42", "--dir", a});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("outbox item 42 does not exist"));
  ProcessResult since = Fhirsync({"audit", "--since", "yesterday", "--dir", a});
  EXPECT_EQ(since.exit_code, 2);
  EXPECT_THAT(since.err, HasSubstr("--since: 'yesterday' is not a date"));
  ProcessResult no_direction = Fhirsync({"sync", "--dir", a});
  EXPECT_EQ(no_direction.exit_code, 2);
  ProcessResult resubmit = Fhirsync({"resubmit", "--from", "2026-01-01", "--to", "2027-01-01",
                                     "--dir", a});
  EXPECT_EQ(resubmit.exit_code, 1);
  EXPECT_THAT(resubmit.err, HasSubstr("needs admin credentials"));
  std::string orphan = tmp_.Sub("orphan");
  ASSERT_EQ(Fhirsync({"init", "--dir", orphan, "--node-id", "orphan"}).exit_code, 0);
  ProcessResult no_parent = Fhirsync({"sync", "--push", "--once", "--dir", orphan});
  EXPECT_EQ(no_parent.exit_code, 1);
  EXPECT_THAT(no_parent.err, HasSubstr("has no parent"));
}

TEST_F(PushCliTest, ResubmitRequeuesWhatTheParentLost) {
  std::string a = MakeNode("a");
  Put(a, "p1", "male");
  Put(a, "p2", "female");
  EXPECT_EQ(Sync(a)["sent"].GetInt(), 2);
  // The parent loses everything (a new stick).
  std::filesystem::remove_all(folder_ + "/changes");
  ProcessResult resubmit = Fhirsync({"resubmit", "--from", "2000-01-01", "--to", "2100-01-01",
                                     "--user", "root", "--json", "--dir", a},
                                    Input("s3cret\n"));
  ASSERT_EQ(resubmit.exit_code, 0) << resubmit.err;
  rapidjson::Document report = Json(resubmit);
  EXPECT_EQ(report["checked"].GetInt(), 2);
  EXPECT_EQ(report["requeued"].GetInt(), 2);
  EXPECT_EQ(Sync(a)["sent"].GetInt(), 2);
  EXPECT_THAT(FolderText(), HasSubstr("\"gender\":\"female\""));
  // Now the parent holds the same: nothing is re-queued.
  resubmit = Fhirsync({"resubmit", "--from", "2000-01-01", "--to", "2100-01-01", "--user", "root",
                       "--json", "--dir", a},
                      Input("s3cret\n"));
  ASSERT_EQ(resubmit.exit_code, 0) << resubmit.err;
  EXPECT_EQ(Json(resubmit)["same"].GetInt(), 2);
}

}  // namespace
}  // namespace fhirsync
