// OpsNodes: a parent and a child made through the real `fhirsync` program,
// for the operations tests: the parent (`serve`) refuses a Patient without a
// birth date (a business rule, 422), and the child holds one such change as
// a dead letter beside one the parent accepted. The child has an admin user
// for its own `serve` (the admin API and page). Header-only.
//
// Thread safety: one test thread.

#ifndef FHIRSYNC_TESTS_OPS_OPS_NODES_H_
#define FHIRSYNC_TESTS_OPS_OPS_NODES_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "test_client.h"

namespace fhirsync::testing {

inline constexpr char kChildUser[] = "tablet-user";
inline constexpr char kChildPassword[] = "tablet pass phrase";
inline constexpr char kAdminUser[] = "site-admin";
inline constexpr char kAdminPassword[] = "admin pass phrase";

inline ProcessResult Fhirsync(const std::vector<std::string>& args,
                              const std::string& stdin_data = "") {
  std::vector<std::string> argv{FHIRSYNC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::seconds(60);
  return RunProcess(argv, options);
}

inline std::string PatientBody(const std::string& id, bool with_birth_date) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","gender":"female")" +
         (with_birth_date ? R"(,"birthDate":"1990-04-01")" : "") + "}";
}

class OpsNodes {
 public:
  OpsNodes() : parent_dir_(tmp_.Sub("parent")), child_dir_(tmp_.Sub("child")) {}

  // Makes both nodes, starts the parent and leaves the child with one dead
  // letter (Patient/no-birth-date) and one sent change (Patient/complete).
  void SetUp() {
    ASSERT_EQ(Fhirsync({"init", "--dir", parent_dir_, "--node-id", "district"}).exit_code, 0);
    auto config = LoadNodeConfig(parent_dir_);
    ASSERT_TRUE(config.ok()) << config.status();
    config->server.rules.push_back(
        {"birth-date", "Patient", {"birthDate"}, "a Patient needs a birth date"});
    ASSERT_TRUE(SaveNodeConfig(parent_dir_, *config).ok());
    ProcessResult user = Fhirsync(
        {"user", "add", kChildUser, "--role", "read,write", "--dir", parent_dir_},
        std::string(kChildPassword) + "\n");
    ASSERT_EQ(user.exit_code, 0) << user.err;
    parent_ = std::make_unique<ServeProcess>(FHIRSYNC_BINARY, parent_dir_);
    ASSERT_TRUE(parent_->Start()) << parent_->error();

    ProcessResult init = Fhirsync({"init", "--dir", child_dir_, "--node-id", "tablet", "--parent",
                                   parent_->url(), "--parent-user", kChildUser},
                                  std::string(kChildPassword) + "\n");
    ASSERT_EQ(init.exit_code, 0) << init.err;
    ProcessResult admin = Fhirsync(
        {"user", "add", kAdminUser, "--role", "admin", "--dir", child_dir_},
        std::string(kAdminPassword) + "\n");
    ASSERT_EQ(admin.exit_code, 0) << admin.err;
    Put(child_dir_, "no-birth-date", false);
    Put(child_dir_, "complete", true);
    ProcessResult sync = Fhirsync({"sync", "--dir", child_dir_, "--once", "--json"});
    ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  }

  void Put(const std::string& dir, const std::string& id, bool with_birth_date) {
    ProcessResult r = Fhirsync({"put", "-", "--dir", dir}, PatientBody(id, with_birth_date));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Starts the child's own `serve` (its admin API and page).
  void ServeChild() {
    child_serve_ = std::make_unique<ServeProcess>(FHIRSYNC_BINARY, child_dir_);
    ASSERT_TRUE(child_serve_->Start()) << child_serve_->error();
  }

  TestClient ChildAdmin() const {
    return TestClient("127.0.0.1", child_serve_->port(), BasicAuth(kAdminUser, kAdminPassword));
  }
  TestClient ParentReader() const {
    return TestClient("127.0.0.1", parent_->port(), BasicAuth(kChildUser, kChildPassword));
  }

  // The seq of the child's dead letter, read through the admin API; 0 if none.
  std::int64_t DeadLetterSeq() const {
    Reply outbox = ChildAdmin().Get("/admin/outbox");
    EXPECT_EQ(outbox.status, 200) << outbox.body;
    rapidjson::Document doc = outbox.Json();
    if (!doc.IsObject() || !doc.HasMember("items")) return 0;
    for (const auto& item : doc["items"].GetArray()) {
      if (std::string(item["state"].GetString()) == "dead") return item["seq"].GetInt64();
    }
    return 0;
  }

  // The state of outbox item `seq` through the admin API ("" if not listed).
  std::string OutboxState(std::int64_t seq) const {
    rapidjson::Document doc = ChildAdmin().Get("/admin/outbox?all=true").Json();
    if (!doc.IsObject() || !doc.HasMember("items")) return "";
    for (const auto& item : doc["items"].GetArray()) {
      if (item["seq"].GetInt64() == seq) return item["state"].GetString();
    }
    return "";
  }

  const std::string& parent_dir() const { return parent_dir_; }
  const std::string& child_dir() const { return child_dir_; }
  ServeProcess& parent() { return *parent_; }
  ServeProcess& child_serve() { return *child_serve_; }
  TempDir& tmp() { return tmp_; }

 private:
  TempDir tmp_{"fhirsync-ops"};
  std::string parent_dir_;
  std::string child_dir_;
  std::unique_ptr<ServeProcess> parent_;
  std::unique_ptr<ServeProcess> child_serve_;
};

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_OPS_OPS_NODES_H_
