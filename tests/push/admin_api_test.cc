// The admin HTTP API (/admin/...) of an in-process NodeServer over a real
// SQLite store: the operator actions as a host application would call them.

#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sstream>

#include "fhirsync/credentials.h"
#include "fhirsync/local_store.h"
#include "fhirsync/node_server.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;

struct Answer {
  int status = 0;
  std::string body;
  rapidjson::Document json;
};

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenLocalStore(StoreConfig{}, dir_.path(), "facility");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
    NodeConfig config;
    config.node_id = "facility";
    auto admin = MakeUser("root", "s3cret", {"admin"});
    auto clerk = MakeUser("clerk", "pw", {"read", "write"});
    ASSERT_TRUE(admin.ok() && clerk.ok());
    config.server.users = {*admin, *clerk};
    server_ = std::make_unique<NodeServer>(config, *store_);
    ASSERT_TRUE(server_->Start().ok());
  }

  Answer Call(const std::string& method, const std::string& path, const std::string& body = "",
              const std::string& user = "root", const std::string& password = "s3cret") {
    Answer answer;
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(server_->port()));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    std::ostringstream credentials;
    Poco::Base64Encoder encoder(credentials);
    encoder << user << ":" << password;
    encoder.close();
    request.set("Authorization", "Basic " + credentials.str());
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    if (!body.empty()) request.setContentType("application/json");
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Poco::StreamCopier::copyToString(in, answer.body);
    answer.status = response.getStatus();
    answer.json.Parse(answer.body.c_str());
    return answer;
  }

  WriteResult Put(const std::string& id, const std::string& gender) {
    WriteOp op;
    op.type = "Patient";
    op.id = id;
    op.body = R"({"resourceType":"Patient","id":")" + id + R"(","gender":")" + gender + "\"}";
    auto result = store_->Put(op);
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }

  // Makes `seq` a dead letter with an open conflict against the server's
  // "male" version 4.
  std::int64_t DeadWithConflict(const WriteResult& local) {
    PushRecord record;
    OutboxTransition dead;
    dead.seq = local.seq;
    dead.state = kOutboxDead;
    dead.count_attempt = true;
    dead.http_status = 412;
    dead.outcome = "conflict";
    dead.message = "conflict in: gender";
    record.transitions = {dead};
    ConflictRecord conflict;
    conflict.type = "Patient";
    conflict.id = "p";
    conflict.outbox_seq = local.seq;
    conflict.local_version = local.version;
    conflict.local_body = R"({"resourceType":"Patient","id":"p","gender":"female"})";
    conflict.remote_version = "4";
    conflict.remote_body = R"({"resourceType":"Patient","id":"p","gender":"male"})";
    record.new_conflict = conflict;
    auto done = store_->RecordPush(record);
    EXPECT_TRUE(done.ok()) << done.status();
    return done->conflict_id;
  }

  testing::TempDir dir_;
  std::unique_ptr<LocalStore> store_;
  std::unique_ptr<NodeServer> server_;
};

TEST_F(AdminApiTest, NeedsTheAdminRole) {
  Answer clerk = Call("GET", "/admin/outbox", "", "clerk", "pw");
  EXPECT_EQ(clerk.status, 403);
  EXPECT_THAT(clerk.body, HasSubstr("admin"));
  Answer wrong = Call("GET", "/admin/outbox", "", "root", "nope");
  EXPECT_EQ(wrong.status, 401);
  // The FHIR API keeps its own roles: the clerk may still write.
  EXPECT_EQ(Call("GET", "/fhir/metadata", "", "clerk", "pw").status, 200);
}

TEST_F(AdminApiTest, OutboxRetryAndAudit) {
  WriteResult local = Put("p", "female");
  Put("q", "male");
  DeadWithConflict(local);
  Answer outbox = Call("GET", "/admin/outbox");
  ASSERT_EQ(outbox.status, 200) << outbox.body;
  ASSERT_EQ(outbox.json["items"].Size(), 2u);
  EXPECT_STREQ(outbox.json["items"][0]["state"].GetString(), "dead");
  EXPECT_STREQ(outbox.json["items"][0]["class"].GetString(), "conflict");
  EXPECT_EQ(outbox.json["items"][0]["http_status"].GetInt(), 412);

  Answer retry = Call("POST", "/admin/outbox/" + std::to_string(local.seq) + "/retry?force=true");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(retry.json["requeued"][0].GetInt64(), local.seq);
  OutboxQuery pending;
  pending.states = {kOutboxPending};
  auto items = store_->ListOutbox(pending);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 2u);
  EXPECT_TRUE(items->front().force);
  Answer audit = Call("GET", "/admin/audit?status=requeued");
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.json.Size(), 1u);
  EXPECT_THAT(audit.json[0]["message"].GetString(), HasSubstr("by admin API"));
  // Retrying it again is fine (it is pending); an unknown one is 404.
  Answer unknown = Call("POST", "/admin/outbox/999/retry");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("outbox item 999 does not exist"));
  EXPECT_EQ(Call("GET", "/admin/outbox/1/retry").status, 405);
  EXPECT_EQ(Call("POST", "/admin/outbox/x/retry").status, 400);
}

TEST_F(AdminApiTest, ConflictsShowAndResolve) {
  WriteResult local = Put("p", "female");
  std::int64_t id = DeadWithConflict(local);
  Answer list = Call("GET", "/admin/conflicts");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json.Size(), 1u);
  Answer show = Call("GET", "/admin/conflicts/" + std::to_string(id));
  ASSERT_EQ(show.status, 200) << show.body;
  EXPECT_STREQ(show.json["server"]["gender"].GetString(), "male");
  EXPECT_STREQ(show.json["local"]["gender"].GetString(), "female");

  Answer bad = Call("POST", "/admin/conflicts/" + std::to_string(id) + "/resolve",
                    R"({"take":"both"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("not local, server or body"));
  Answer resolved = Call("POST", "/admin/conflicts/" + std::to_string(id) + "/resolve",
                         R"({"take":"server"})");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  auto current = store_->Get("Patient", "p");
  ASSERT_TRUE(current.ok());
  EXPECT_THAT(current->body, HasSubstr("\"male\""));
  Answer again = Call("POST", "/admin/conflicts/" + std::to_string(id) + "/resolve",
                      R"({"take":"local"})");
  EXPECT_EQ(again.status, 412);
  EXPECT_THAT(again.body, HasSubstr("already resolved"));
  EXPECT_EQ(Call("GET", "/admin/conflicts?status=all").json.Size(), 1u);
  EXPECT_EQ(Call("GET", "/admin/conflicts").json.Size(), 0u);
}

TEST_F(AdminApiTest, ActionsThatNeedTheParentSaySo) {
  WriteResult local = Put("p", "female");
  DeadWithConflict(local);
  Answer discard = Call("POST", "/admin/outbox/" + std::to_string(local.seq) + "/discard");
  EXPECT_EQ(discard.status, 412);
  EXPECT_THAT(discard.body, HasSubstr("discard needs the parent"));
  Answer resubmit = Call("POST", "/admin/resubmit");
  EXPECT_EQ(resubmit.status, 400);
  EXPECT_THAT(resubmit.body, HasSubstr("?from=DATE&to=DATE"));
  EXPECT_EQ(Call("GET", "/admin/nothing").status, 404);
}

}  // namespace
}  // namespace fhirsync
