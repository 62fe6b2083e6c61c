// A new child's first `fhirsync sync --pull --once` (real processes, the
// real fhir plugin module) from a parent that answers FHIR Bulk Data
// `$export` and an Atom feed, scripted on 127.0.0.1: the child loads the
// snapshot, then reads only the feed entries after its watermark (a change
// made while the snapshot was cut is pulled exactly once, the ones before
// it are not fetched again); a download cut in the middle and a run killed
// while waiting for the file both continue where they stopped, with every
// resource held once.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fhirsync/base/bulk_manifest.h"
#include "fhirsync/base/text_util.h"
#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "support/scripted_http_peer.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

using ::testing::HasSubstr;

const std::string kBinary = FHIRSYNC_BINARY;
constexpr int kResources = 5000;  // more than one page of the loader (2,000)

std::string PatientLine(int i, int version) {
  return R"({"resourceType":"Patient","id":"x)" + std::to_string(i) +
         R"(","meta":{"versionId":")" + std::to_string(version) +
         R"("},"name":[{"family":"Snapshot)" + std::to_string(i) + "v" + std::to_string(version) +
         R"("}]})";
}

std::string Entry(int seq, int id, int version, const char* action) {
  return "<entry><id>tag:atomfeed.ict4h.org:" + std::to_string(seq) +
         "</id><title>Patient</title><updated>2026-12-07T20:00:00Z</updated>"
         "<category term=\"Patient\"/><category term=\"" + action +
         "\"/><content type=\"application/vnd.atomfeed+xml\"><![CDATA[{\"fhir\":\"/fhir/"
         "Patient/x" + std::to_string(id) + "/_history/" + std::to_string(version) +
         "\"}]]></content></entry>";
}

// The parent: node "district"; its snapshot holds x0..x4999 at version 1,
// cut at change 5000; its feed page holds change 4999 and 5000 (in the
// snapshot) and change 5001 (x5 at version 2, made while the snapshot was
// being cut).
class ScriptedParent {
 public:
  ScriptedParent() {
    for (int i = 0; i < kResources; ++i) file_ += PatientLine(i, 1) + "\n";
    peer_.Route([this](const RecordedRequest& r) { return Answer(r); });
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(peer_.port()); }

  Reply Answer(const RecordedRequest& r) {
    const std::vector<std::pair<std::string, std::string>> named = {
        {"X-Fhirsync-Node-Id", "district"}};
    const std::string base = url() + "/fhir";
    if (r.uri.rfind("/fhir/metadata", 0) == 0) {
      return Reply(200, R"({"resourceType":"CapabilityStatement","status":"active",)"
                        R"("kind":"instance","fhirVersion":"4.0.1","format":["json"]})",
                   named);
    }
    if (r.uri.rfind("/fhir/$export?", 0) == 0 || r.uri == "/fhir/$export") {
      ++kickoffs;
      return Reply(202, "", {{"Content-Location", base + "/$export-status/1"},
                             {"X-Fhirsync-Node-Id", "district"}});
    }
    if (r.uri == "/fhir/$export-status/1") {
      BulkManifest m;
      m.transaction_time = "2026-12-07T20:00:00Z";
      m.request = base + "/$export";
      m.output.push_back({"Patient", base + "/$export-file/1/1", kResources, Sha256Hex(file_),
                          static_cast<std::int64_t>(file_.size())});
      m.has_fhirsync = true;
      m.fhirsync = {"district", 5000, url() + "/feed/1", "tag:atomfeed.ict4h.org:5000"};
      return Reply(200, WriteBulkManifest(m), named);
    }
    if (r.uri == "/fhir/$export-file/1/1") {
      auto range = r.headers.find("Range");
      std::size_t from = 0;
      if (range != r.headers.end()) from = std::stoul(range->second.substr(6));
      ranges.push_back(static_cast<std::int64_t>(from));  // under the peer's lock
      ++file_requests;
      Reply reply(from > 0 ? 206 : 200, file_.substr(from), named);
      const int mode = file_mode.load();
      if (mode == 1) reply.cut_after = static_cast<long>(file_.size() * 3 / 5);
      if (mode == 2) reply.stall_ms = 60000;
      return reply;
    }
    if (r.uri.rfind("/feed/", 0) == 0) {
      const std::string page =
          R"(<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>district</title><id>district+1</id>
<updated>2026-12-07T20:00:00Z</updated>
<link rel="self" type="application/atom+xml" href="/feed/1"/>
<link rel="via" type="application/atom+xml" href="/feed/1"/>
<link rel="first" type="application/atom+xml" href="/feed/1"/>)" +
          Entry(4999, 4999, 1, "CREATED") + Entry(5000, 3, 1, "CREATED") +
          Entry(5001, 5, 2, "UPDATED") + "</feed>";
      return Reply(200, page, named);
    }
    if (r.uri.rfind("/fhir", 0) == 0) {
      ++body_reads;
      last_body_read = r.uri;
      return Reply(200, R"({"resourceType":"Bundle","type":"searchset","entry":[{"resource":)" +
                            PatientLine(5, 2) + "}]}",
                   named);
    }
    return Reply(404, "", named);
  }

  ScriptedPeer peer_;
  std::string file_;
  std::atomic<int> file_mode{0};  // 0: whole, 1: cut at 3/5, 2: stall
  std::atomic<int> kickoffs{0};
  std::atomic<int> body_reads{0};
  std::string last_body_read;
  std::atomic<int> file_requests{0};
  // The byte each file request started at; read once the requests are in.
  std::vector<std::int64_t> ranges;
};

class SnapshotPullProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/child";
    ProcessResult init = RunProgram(kBinary, {"init", "--dir", dir_, "--node-id", "child-s",
                                              "--parent", parent_.url(), "--parent-user", "u"},
                                    "p\n");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto config = LoadNodeConfig(dir_);
    ASSERT_TRUE(config.ok());
    config->plugins.load[0].options["read_many"] = "id-search";
    config->plugins.load[0].options["capability_statement"] = "ignore";
    config->pull.snapshot = "auto";
    ASSERT_TRUE(SaveNodeConfig(dir_, *config).ok());
  }

  ProcessResult Pull() { return RunProgram(kBinary, {"sync", "--dir", dir_, "--pull", "--once"}); }

  // x0..x4999 held once each; x5 at the parent's version 2, the others 1.
  void ExpectMirrorsTheParent() {
    auto config = LoadNodeConfig(dir_);
    ASSERT_TRUE(config.ok());
    auto store = OpenLocalStore(config->store, dir_, config->node_id);
    ASSERT_TRUE(store.ok()) << store.status();
    std::vector<std::pair<std::string, std::string>> keys;
    for (int i = 0; i < kResources; ++i) keys.emplace_back("Patient", "x" + std::to_string(i));
    auto states = (*store)->GetSyncStates(keys);
    ASSERT_TRUE(states.ok()) << states.status();
    ASSERT_EQ(states->size(), static_cast<std::size_t>(kResources));
    for (const SyncState& s : *states) {
      EXPECT_EQ(s.remote_version, s.id == "x5" ? "2" : "1") << s.id;
    }
    auto x5 = (*store)->Get("Patient", "x5");
    ASSERT_TRUE(x5.ok());
    EXPECT_EQ(x5->version, 2);
    auto last = (*store)->LastSeq();
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, kResources + 1) << "each resource once, and the one later change";
    auto cursor = (*store)->GetCursor("district");
    ASSERT_TRUE(cursor.ok() && cursor->has_value());
    EXPECT_EQ((*cursor)->feed, "atom");
    EXPECT_TRUE((*store)->CheckIntegrity().ok());
  }

  TempDir tmp_{"fhirsync-snapshot-pull"};
  ScriptedParent parent_;
  std::string dir_;
};

TEST_F(SnapshotPullProcessTest, FirstPullLoadsTheSnapshotThenOnlyTheFeedAfterItsWatermark) {
  ProcessResult pull = Pull();
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_THAT(pull.out, HasSubstr("began with the parent's snapshot"))
      << RunProgram(kBinary, {"audit", "--dir", dir_}).out;
  EXPECT_EQ(parent_.kickoffs.load(), 1);
  // Only the change after the watermark is fetched: x5 at version 2.
  EXPECT_EQ(parent_.body_reads.load(), 1);
  EXPECT_THAT(parent_.last_body_read, HasSubstr("x5"));
  ExpectMirrorsTheParent();
  // The next pull asks for no snapshot and applies nothing.
  ProcessResult again = Pull();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(parent_.kickoffs.load(), 1);
  ExpectMirrorsTheParent();
}

TEST_F(SnapshotPullProcessTest, ACutAndAKilledRunContinueWhereTheyStopped) {
  parent_.file_mode = 1;  // the connection breaks at 3/5 of the file
  ProcessResult cut = Pull();
  EXPECT_NE(cut.exit_code, 0);
  parent_.file_mode = 2;  // the file never comes: the run is killed waiting
  ChildProcess waiting;
  std::string error;
  ASSERT_TRUE(waiting.Start({kBinary, "sync", "--dir", dir_, "--pull", "--once"}, {}, &error))
      << error;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (parent_.file_requests.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(parent_.file_requests.load(), 2) << waiting.Stderr();
  ASSERT_TRUE(waiting.Signal(SIGKILL));
  waiting.Wait(std::chrono::seconds(20));
  parent_.file_mode = 0;
  ProcessResult rest = Pull();
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  // The same job each time, and the file asked from the first page the cut
  // run did not apply: 2,000 lines in.
  EXPECT_EQ(parent_.kickoffs.load(), 1);
  ASSERT_EQ(parent_.ranges.size(), 3u);
  EXPECT_EQ(parent_.ranges[0], 0);
  EXPECT_GT(parent_.ranges[1], 0);
  EXPECT_EQ(parent_.ranges[2], parent_.ranges[1]);
  EXPECT_EQ(parent_.file_.substr(0, parent_.ranges[1]).back(), '\n');
  ExpectMirrorsTheParent();
}

}  // namespace
}  // namespace fhirsync::testing
