// The folder transport, loaded from its real module: changes written by one
// side are read back as a change feed by the other.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/plugin_loader.h"
#include "test_files.h"

namespace fhirsync {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class FolderTransportTest : public ::testing::Test {
 protected:
  // A fresh transport object from the module, configured on the stick.
  std::shared_ptr<TransportPlugin> Open(std::map<std::string, std::string> options = {}) {
    StatusOr<LoadedPlugin> loaded = LoadPlugin(FHIRSYNC_FOLDER_PLUGIN);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    if (!loaded.ok()) return nullptr;
    TransportSettings settings;
    settings.base_url = "file://" + stick_.path();
    settings.options = std::move(options);
    Status configured = loaded->transport->Configure(settings);
    EXPECT_TRUE(configured.ok()) << configured;
    return loaded->transport;
  }

  static RemoteResource Patient(const std::string& id, const std::string& family) {
    RemoteResource r;
    r.type = "Patient";
    r.id = id;
    r.body = R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
             R"("}]})";
    return r;
  }

  std::vector<std::string> ChangeFiles() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(stick_.path() + "/changes")) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  testing::TempDir stick_;
};

TEST_F(FolderTransportTest, RoundTripFromOneSideToTheOther) {
  auto writer = Open();
  auto reader = Open();
  ASSERT_TRUE(writer && reader);

  RemoteWriteResult created = writer->Create(Patient("p1", "Okafor"));
  ASSERT_TRUE(created.status.ok()) << created.status;
  EXPECT_EQ(created.version, "1");
  RemoteWriteResult updated = writer->Update(Patient("p1", "Okafor-Mensah"), "1");
  ASSERT_TRUE(updated.status.ok()) << updated.status;
  EXPECT_EQ(updated.version, "2");
  RemoteResource visit_type;
  visit_type.type = "visittype";
  visit_type.id = "7b0f5697-27e3-40c4-8bae-f4049abfb4ed";
  visit_type.format = ResourceFormat::kOpenmrsRest;
  visit_type.body = R"({"uuid":"7b0f5697-27e3-40c4-8bae-f4049abfb4ed","name":"Facility Visit"})";
  ASSERT_TRUE(writer->Create(visit_type).status.ok());
  ASSERT_TRUE(writer->Create(Patient("p2", "Banda")).status.ok());
  RemoteWriteResult deleted = writer->Delete("Patient", "p2", "1");
  ASSERT_TRUE(deleted.status.ok()) << deleted.status;
  EXPECT_EQ(deleted.version, "2");

  ChangePage page = reader->ReadChanges("", 100);
  ASSERT_TRUE(page.status.ok()) << page.status;
  ASSERT_EQ(page.entries.size(), 5u);
  EXPECT_FALSE(page.more);
  EXPECT_EQ(page.next_position, page.entries.back().position);
  const ChangeEntry& first = page.entries[0];
  EXPECT_EQ(first.action, ChangeAction::kCreate);
  EXPECT_EQ(first.resource.type, "Patient");
  EXPECT_EQ(first.resource.id, "p1");
  EXPECT_EQ(first.resource.version, "1");
  EXPECT_TRUE(first.has_body);
  EXPECT_EQ(first.resource.body, Patient("p1", "Okafor").body);
  EXPECT_EQ(page.entries[1].action, ChangeAction::kUpdate);
  EXPECT_EQ(page.entries[1].resource.body, Patient("p1", "Okafor-Mensah").body);
  EXPECT_EQ(page.entries[2].resource.format, ResourceFormat::kOpenmrsRest);
  EXPECT_EQ(page.entries[2].resource.body, visit_type.body);
  EXPECT_EQ(page.entries[4].action, ChangeAction::kDelete);
  EXPECT_TRUE(page.entries[4].resource.deleted);
  EXPECT_EQ(page.entries[4].resource.version, "2");

  ReadResult p1 = reader->Read("Patient", "p1");
  ASSERT_TRUE(p1.status.ok()) << p1.status;
  EXPECT_EQ(p1.resource.version, "2");
  EXPECT_EQ(p1.resource.body, Patient("p1", "Okafor-Mensah").body);
  EXPECT_GT(p1.resource.last_updated_ms, 0);
  ReadResult p2 = reader->Read("Patient", "p2");
  ASSERT_TRUE(p2.status.ok()) << p2.status;
  EXPECT_TRUE(p2.resource.deleted);

  // Nothing new: the position stays.
  ChangePage empty = reader->ReadChanges(page.next_position, 100);
  ASSERT_TRUE(empty.status.ok());
  EXPECT_TRUE(empty.entries.empty());
  EXPECT_EQ(empty.next_position, page.next_position);
  // A change written later is seen after that position.
  ASSERT_TRUE(writer->Update(Patient("p1", "Mensah"), "2").status.ok());
  ChangePage later = reader->ReadChanges(page.next_position, 100);
  ASSERT_EQ(later.entries.size(), 1u);
  EXPECT_EQ(later.entries[0].resource.version, "3");
}

TEST_F(FolderTransportTest, PagesResumeFromThePosition) {
  auto side = Open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(side->Create(Patient("p" + std::to_string(i), "X")).status.ok());
  }
  std::vector<std::string> ids;
  std::string position;
  int pages = 0;
  while (true) {
    ChangePage page = side->ReadChanges(position, 2);
    ASSERT_TRUE(page.status.ok()) << page.status;
    for (const ChangeEntry& e : page.entries) ids.push_back(e.resource.id);
    position = page.next_position;
    ++pages;
    if (!page.more) break;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
  EXPECT_EQ(pages, 3);
}

TEST_F(FolderTransportTest, VersionGuards) {
  auto side = Open();
  ASSERT_TRUE(side->Create(Patient("p1", "A")).status.ok());
  ASSERT_TRUE(side->Update(Patient("p1", "B"), "1").status.ok());

  RemoteWriteResult stale = side->Update(Patient("p1", "C"), "1");
  EXPECT_EQ(stale.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.status.message(), "Patient/p1 is at version 2 in the folder, not 1");
  RemoteWriteResult again = side->Create(Patient("p1", "D"));
  EXPECT_EQ(again.status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status.message(), "Patient/p1 already exists in the folder at version 2");
  RemoteWriteResult missing = side->Update(Patient("p9", "E"), "1");
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status.message(), "Patient/p9 is not in the folder");
  RemoteWriteResult gone = side->Delete("Patient", "p9", "");
  EXPECT_EQ(gone.status.code(), StatusCode::kNotFound);
  // Unconditional update (a forced retry) writes whatever is there.
  RemoteWriteResult forced = side->Update(Patient("p1", "F"), "");
  ASSERT_TRUE(forced.status.ok());
  EXPECT_EQ(forced.version, "3");
  // A failed write leaves no file behind.
  EXPECT_EQ(ChangeFiles().size(), 4u);  // 3 changes + .lock
}

TEST_F(FolderTransportTest, HostileNamesAreRefusedAndWriteNothing) {
  auto side = Open();
  RemoteResource evil = Patient("../../etc/passwd", "X");
  RemoteWriteResult result = side->Create(evil);
  EXPECT_EQ(result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status.message(),
            "id '../../etc/passwd' is not a valid id ([A-Za-z0-9-.], at most 64)");
  evil = Patient("p1", "X");
  evil.type = "Pat~ient";
  result = side->Create(evil);
  EXPECT_EQ(result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status.message(),
            "resource type 'Pat~ient' is not a type name the folder can hold");
  ReadResult read = side->Read("Patient", std::string("a\0b", 3));
  EXPECT_EQ(read.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status.message(), "id 'a?b' is not a valid id ([A-Za-z0-9-.], at most 64)");
  ChangePage page = side->ReadChanges("12; rm -rf /", 10);
  EXPECT_EQ(page.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(page.status.message(),
            "position '12; rm -rf /' is not one this folder made (expected a number)");
  EXPECT_EQ(ChangeFiles(), std::vector<std::string>{".lock"});
}

TEST_F(FolderTransportTest, LeftoversAndForeignFilesAreIgnored) {
  auto writer = Open();
  ASSERT_TRUE(writer->Create(Patient("p1", "A")).status.ok());
  std::string changes = stick_.path() + "/changes/";
  // What a crash mid-write leaves, and what a desktop puts on a stick.
  testing::WriteTextFile(changes + ".tmp-999-0-00000000000000000002~1~Patient~p1~2~update~fhir.json",
                         R"({"resourceType":"Pati)");
  testing::WriteTextFile(changes + "desktop.ini", "[.ShellClassInfo]");
  testing::WriteTextFile(changes + "00000000000000000003~1~Patient~p1~x~update~fhir.json", "{}");
  ChangePage page = writer->ReadChanges("", 10);
  ASSERT_TRUE(page.status.ok());
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(page.entries[0].resource.version, "1");
  EXPECT_EQ(writer->Read("Patient", "p1").resource.version, "1");
  // The next writer to configure clears the dead writer's temporary file.
  auto next = Open();
  std::vector<std::string> files = ChangeFiles();
  EXPECT_EQ(std::count_if(files.begin(), files.end(),
                          [](const std::string& f) { return f.rfind(".tmp-", 0) == 0; }),
            0);
  EXPECT_EQ(files.size(), 4u);  // the change, .lock, desktop.ini, the malformed name
}

TEST_F(FolderTransportTest, BodiesOverTheLimit) {
  auto side = Open({{"max_body_bytes", "100"}});
  RemoteResource big = Patient("p1", std::string(200, 'x'));
  RemoteWriteResult result = side->Create(big);
  EXPECT_EQ(result.status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(result.status.message(), StartsWith("Patient/p1: body of "));
  EXPECT_THAT(result.status.message(), HasSubstr("over the limit of 100"));
  // A big file put on the stick by someone else: the feed goes on, the read
  // of that resource names the file.
  auto other = Open();
  ASSERT_TRUE(other->Create(big).status.ok());
  ASSERT_TRUE(other->Create(Patient("p2", "small")).status.ok());
  ChangePage page = side->ReadChanges("", 10);
  ASSERT_TRUE(page.status.ok());
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_FALSE(page.entries[0].has_body);
  EXPECT_TRUE(page.entries[1].has_body);
  ReadResult read = side->Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(read.status.message(), HasSubstr("~Patient~p1~1~create~fhir.json: "));
  EXPECT_THAT(read.status.message(), HasSubstr("more than the limit of 100"));
}

TEST_F(FolderTransportTest, ReadManyKeepsRequestOrder) {
  auto side = Open();
  ASSERT_TRUE(side->Create(Patient("a", "A")).status.ok());
  ASSERT_TRUE(side->Create(Patient("c", "C")).status.ok());
  ReadManyResult many = side->ReadMany("Patient", {"c", "b", "a"});
  ASSERT_TRUE(many.status.ok());
  ASSERT_EQ(many.items.size(), 3u);
  EXPECT_EQ(many.items[0].resource.id, "c");
  EXPECT_EQ(many.items[1].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(many.items[1].status.message(), "Patient/b is not in the folder");
  EXPECT_EQ(many.items[2].resource.body, Patient("a", "A").body);
}

TEST_F(FolderTransportTest, ConcurrentWritersNeverShareASequence) {
  auto a = Open();
  auto b = Open();
  auto write = [](std::shared_ptr<TransportPlugin> side, const std::string& prefix) {
    for (int i = 0; i < 25; ++i) {
      RemoteWriteResult r = side->Create(Patient(prefix + std::to_string(i), "X"));
      ASSERT_TRUE(r.status.ok()) << r.status;
    }
  };
  std::thread t1(write, a, "a");
  std::thread t2(write, b, "b");
  t1.join();
  t2.join();
  ChangePage page = a->ReadChanges("", 1000);
  ASSERT_TRUE(page.status.ok());
  ASSERT_EQ(page.entries.size(), 50u);
  std::set<std::string> positions;
  for (const ChangeEntry& e : page.entries) positions.insert(e.position);
  EXPECT_EQ(positions.size(), 50u);
}

TEST_F(FolderTransportTest, ConfigureErrors) {
  StatusOr<LoadedPlugin> loaded = LoadPlugin(FHIRSYNC_FOLDER_PLUGIN);
  ASSERT_TRUE(loaded.ok());
  TransportPlugin& t = *loaded->transport;
  TransportSettings settings;
  Status s = t.Configure(settings);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "the folder transport needs a folder: set options.dir or a file:// parent url");
  settings.base_url = "https://parent.example/fhir";
  s = t.Configure(settings);
  EXPECT_EQ(s.message(), "the folder transport needs a folder, not 'https://parent.example/fhir': "
                         "set options.dir or a file:// parent url");
  settings.options["dir"] = stick_.path();
  settings.options["priority"] = "high";
  s = t.Configure(settings);
  EXPECT_EQ(s.message(), "options.priority: expected an integer, got 'high'");
  settings.options["priority"] = "-3";
  ASSERT_TRUE(t.Configure(settings).ok());
  EXPECT_EQ(t.GetCapabilities().priority, -3);
  settings.options["dir"] = stick_.path() + "/not-mounted";
  s = t.Configure(settings);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "folder " + stick_.path() + "/not-mounted does not exist (is the stick "
                         "mounted?)");
  EXPECT_FALSE(fs::exists(stick_.path() + "/not-mounted"));
}

TEST_F(FolderTransportTest, UnconfiguredTransportSaysSo) {
  StatusOr<LoadedPlugin> loaded = LoadPlugin(FHIRSYNC_FOLDER_PLUGIN);
  ASSERT_TRUE(loaded.ok());
  ReadResult read = loaded->transport->Read("Patient", "p1");
  EXPECT_EQ(read.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(read.status.message(), "the folder transport is not configured");
}

}  // namespace
}  // namespace fhirsync
