// The server's interaction tests, written once and run against two
// environments (type-parameterised): the NodeServer in-process over a fake
// store (node_server_test.cc), and a real `fhirsync serve` process over a
// real SQLite store (serve_process_test.cc). Every test talks real HTTP on
// 127.0.0.1 with a port chosen by the OS.
//
// An environment type provides: Start() (a fresh, empty node), port(),
// token() (a read+write bearer token), and the users below; its feed page
// size is kFeedPageSize.

#ifndef FHIRSYNC_TESTS_SERVER_INTERACTION_TESTS_H_
#define FHIRSYNC_TESTS_SERVER_INTERACTION_TESTS_H_

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "fhirsync/feed/atom_page_reader.h"
#include "test_client.h"

namespace fhirsync::testing {

inline constexpr int kFeedPageSize = 5;
inline constexpr char kReader[] = "reader";  // roles: read
inline constexpr char kWriter[] = "writer";  // roles: read, write
inline constexpr char kAdmin[] = "boss";     // roles: admin
inline std::string PasswordOf(const std::string& user) { return user + "-secret-pw"; }

inline std::string PatientJson(const std::string& id, const std::string& family) {
  return R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
         R"("}]})";
}

template <typename Env>
class InteractionTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.Start(); }

  TestClient As(const std::string& user) {
    return TestClient("127.0.0.1", env_.port(), BasicAuth(user, PasswordOf(user)));
  }
  TestClient Writer() { return As(kWriter); }

  // Every change the node has made, via system _history (all pages).
  std::vector<std::string> AllChanges() {
    TestClient client = Writer();
    std::vector<std::string> out;
    std::string next = "/fhir/_history?_count=1000";
    while (!next.empty()) {
      Reply reply = client.Get(next);
      EXPECT_EQ(reply.status, 200) << reply.body;
      rapidjson::Document doc = reply.Json();
      next.clear();
      if (doc.HasMember("link")) {
        for (auto& link : doc["link"].GetArray()) {
          if (std::string(link["relation"].GetString()) == "next") {
            std::string url = link["url"].GetString();
            next = url.substr(url.find("/fhir/"));
          }
        }
      }
      if (!doc.HasMember("entry")) break;
      for (auto& entry : doc["entry"].GetArray()) {
        out.push_back(std::string(entry["request"]["method"].GetString()) + " " +
                      entry["request"]["url"].GetString() + " " +
                      entry["response"]["etag"].GetString());
      }
    }
    return out;
  }

  // Parses a feed page with the project's own Atom reader.
  feed::AtomPage ReadFeed(const std::string& url, const std::string& xml) {
    auto page = feed::ReadAtomPage(url, xml);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? *page : feed::AtomPage{};
  }

  Env env_;
};

TYPED_TEST_SUITE_P(InteractionTest);

TYPED_TEST_P(InteractionTest, CreateReadUpdateWithVersions) {
  TestClient client = this->Writer();
  Reply created = client.Put("/fhir/Patient/p1", PatientJson("p1", "Doe"));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("etag"), "W/\"1\"");
  EXPECT_NE(created.Header("location").find("/fhir/Patient/p1/_history/1"), std::string::npos);
  EXPECT_NE(created.Header("last-modified").find("GMT"), std::string::npos);

  Reply read = client.Get("/fhir/Patient/p1");
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(read.Header("etag"), "W/\"1\"");
  EXPECT_NE(read.Header("content-type").find("application/fhir+json"), std::string::npos);
  rapidjson::Document doc = read.Json();
  EXPECT_STREQ(doc["meta"]["versionId"].GetString(), "1");
  EXPECT_TRUE(doc["meta"].HasMember("lastUpdated"));
  EXPECT_STREQ(doc["name"][0]["family"].GetString(), "Doe");

  RequestOptions if_match = WithHeader("If-Match", "W/\"1\"");
  Reply updated = client.Call("PUT", "/fhir/Patient/p1", PatientJson("p1", "Roe"), if_match);
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.Header("etag"), "W/\"2\"");
  EXPECT_STREQ(updated.Json()["meta"]["versionId"].GetString(), "2");

  // Stale If-Match: 412, an OperationOutcome, nothing written.
  const auto before = this->AllChanges();
  Reply stale = client.Call("PUT", "/fhir/Patient/p1", PatientJson("p1", "Poe"), if_match);
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(stale.IssueCode(), "conflict");
  EXPECT_NE(stale.Diagnostics().find("version conflict"), std::string::npos) << stale.body;
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_STREQ(client.Get("/fhir/Patient/p1").Json()["name"][0]["family"].GetString(), "Roe");

  Reply v1 = client.Get("/fhir/Patient/p1/_history/1");
  ASSERT_EQ(v1.status, 200);
  EXPECT_STREQ(v1.Json()["name"][0]["family"].GetString(), "Doe");
  EXPECT_EQ(v1.Header("etag"), "W/\"1\"");
  Reply v9 = client.Get("/fhir/Patient/p1/_history/9");
  EXPECT_EQ(v9.status, 404);
  EXPECT_EQ(v9.IssueCode(), "not-found");
}

TYPED_TEST_P(InteractionTest, DeleteGivesGoneAndUnknownGivesNotFound) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/gone", PatientJson("gone", "X")).status, 201);
  Reply deleted = client.Call("DELETE", "/fhir/Patient/gone");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_EQ(deleted.Header("etag"), "W/\"2\"");
  Reply gone = client.Get("/fhir/Patient/gone");
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(gone.IssueCode(), "deleted");
  EXPECT_NE(gone.Diagnostics().find("Patient/gone was deleted"), std::string::npos);
  Reply unknown = client.Get("/fhir/Patient/never-there");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.IssueCode(), "not-found");
  EXPECT_NE(unknown.Diagnostics().find("never-there"), std::string::npos);
  Reply delete_unknown = client.Call("DELETE", "/fhir/Patient/never-there");
  EXPECT_EQ(delete_unknown.status, 404);
  // Re-creating after a delete is a new version.
  Reply again = client.Put("/fhir/Patient/gone", PatientJson("gone", "Y"));
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.Header("etag"), "W/\"3\"");
}

TYPED_TEST_P(InteractionTest, CreateAssignsIdAndHonoursIfNoneExist) {
  TestClient client = this->Writer();
  Reply created = client.Post("/fhir/Patient", PatientJson("ignored", "New"));
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = created.Json()["id"].GetString();
  EXPECT_NE(id, "ignored");
  EXPECT_EQ(client.Get("/fhir/Patient/" + id).status, 200);
  EXPECT_EQ(client.Get("/fhir/Patient/ignored").status, 404);

  RequestOptions exists = WithHeader("If-None-Exist", "_id=" + id);
  Reply matched = client.Call("POST", "/fhir/Patient", PatientJson("x", "Other"), exists);
  EXPECT_EQ(matched.status, 200);
  EXPECT_EQ(std::string(matched.Json()["id"].GetString()), id);
  EXPECT_STREQ(matched.Json()["name"][0]["family"].GetString(), "New");

  RequestOptions absent = WithHeader("If-None-Exist", "_id=nobody");
  EXPECT_EQ(client.Call("POST", "/fhir/Patient", PatientJson("x", "Other"), absent).status, 201);
  RequestOptions bad = WithHeader("If-None-Exist", "name=Smith");
  Reply refused = client.Call("POST", "/fhir/Patient", PatientJson("x", "Other"), bad);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.Diagnostics().find("'name' is not supported"), std::string::npos);
}

TYPED_TEST_P(InteractionTest, MetadataListsTypesAndInteractions) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/m1", PatientJson("m1", "M")).status, 201);
  Reply meta = client.Get("/fhir/metadata");
  ASSERT_EQ(meta.status, 200);
  rapidjson::Document doc = meta.Json();
  EXPECT_STREQ(doc["resourceType"].GetString(), "CapabilityStatement");
  EXPECT_STREQ(doc["fhirVersion"].GetString(), "4.0.1");
  const auto& rest = doc["rest"][0];
  // Every FHIR type is accepted, not only those held: a child's transport
  // claims what the parent lists, and must be able to send a new type.
  std::map<std::string, const rapidjson::Value*> listed;
  for (auto& r : rest["resource"].GetArray()) listed[r["type"].GetString()] = &r;
  EXPECT_EQ(listed.count("Location"), 1u);
  EXPECT_EQ(listed.count("VisionPrescription"), 1u);
  ASSERT_EQ(listed.count("Patient"), 1u);
  std::vector<std::string> codes;
  for (auto& i : (*listed["Patient"])["interaction"].GetArray()) codes.push_back(i["code"].GetString());
  EXPECT_EQ(codes, (std::vector<std::string>{"read", "vread", "update", "create", "delete",
                                             "history-instance", "history-type", "search-type"}));
  std::vector<std::string> system;
  for (auto& i : rest["interaction"].GetArray()) system.push_back(i["code"].GetString());
  EXPECT_EQ(system, (std::vector<std::string>{"transaction", "batch", "history-system"}));
}

TYPED_TEST_P(InteractionTest, HistoryAtEveryLevelWithSinceCountAndNext) {
  TestClient client = this->Writer();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(client.Put("/fhir/Patient/h" + std::to_string(i), PatientJson("h" + std::to_string(i), "A")).status, 201);
  }
  ASSERT_EQ(client.Put("/fhir/Patient/h0", PatientJson("h0", "B")).status, 200);
  ASSERT_EQ(client.Call("DELETE", "/fhir/Patient/h1").status, 204);
  ASSERT_EQ(client.Put("/fhir/Observation/o1", R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}})").status, 201);

  Reply instance = client.Get("/fhir/Patient/h0/_history");
  ASSERT_EQ(instance.status, 200);
  rapidjson::Document doc = instance.Json();
  EXPECT_STREQ(doc["type"].GetString(), "history");
  ASSERT_EQ(doc["entry"].Size(), 2u);
  EXPECT_STREQ(doc["entry"][0]["resource"]["meta"]["versionId"].GetString(), "2");  // newest first

  // Type history: oldest first, deletes included, paging by next links.
  std::vector<std::string> seen;
  std::string next = "/fhir/Patient/_history?_count=2";
  int pages = 0;
  while (!next.empty()) {
    Reply page = client.Get(next);
    ASSERT_EQ(page.status, 200) << page.body;
    rapidjson::Document p = page.Json();
    ++pages;
    next.clear();
    for (auto& link : p["link"].GetArray()) {
      if (std::string(link["relation"].GetString()) == "next") {
        std::string url = link["url"].GetString();
        next = url.substr(url.find("/fhir/"));
      }
    }
    for (auto& e : p["entry"].GetArray()) {
      seen.push_back(std::string(e["request"]["method"].GetString()) + " " +
                     e["request"]["url"].GetString());
      if (std::string(e["request"]["method"].GetString()) == "DELETE") {
        EXPECT_FALSE(e.HasMember("resource"));
      }
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"PUT Patient/h0", "PUT Patient/h1", "PUT Patient/h2",
                                            "PUT Patient/h0", "DELETE Patient/h1"}));
  EXPECT_GE(pages, 3);

  auto all = this->AllChanges();
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(all.back(), "PUT Observation/o1 W/\"1\"");

  Reply future = client.Get("/fhir/_history?_since=2999-01-01");
  ASSERT_EQ(future.status, 200);
  EXPECT_EQ(future.Json()["entry"].Size(), 0u);
  Reply past = client.Get("/fhir/_history?_since=2000-01-01T00:00:00Z");
  EXPECT_EQ(past.Json()["entry"].Size(), 6u);
  Reply bad_since = client.Get("/fhir/_history?_since=yesterday");
  EXPECT_EQ(bad_since.status, 400);
  EXPECT_NE(bad_since.Diagnostics().find("_since"), std::string::npos);
}

TYPED_TEST_P(InteractionTest, SearchByIdLastUpdatedAndCountWithPaging) {
  TestClient client = this->Writer();
  for (const char* id : {"s1", "s2", "s3", "s4", "s5"}) {
    ASSERT_EQ(client.Put(std::string("/fhir/Patient/") + id, PatientJson(id, "S")).status, 201);
  }
  Reply by_id = client.Get("/fhir/Patient?_id=s2,s4,zz");
  ASSERT_EQ(by_id.status, 200);
  rapidjson::Document doc = by_id.Json();
  EXPECT_STREQ(doc["type"].GetString(), "searchset");
  EXPECT_EQ(doc["total"].GetInt(), 2);
  EXPECT_STREQ(doc["entry"][0]["resource"]["id"].GetString(), "s2");
  EXPECT_STREQ(doc["entry"][1]["resource"]["id"].GetString(), "s4");

  std::vector<std::string> ids;
  std::string next = "/fhir/Patient?_count=2";
  while (!next.empty()) {
    rapidjson::Document p = client.Get(next).Json();
    EXPECT_EQ(p["total"].GetInt(), 5);
    next.clear();
    for (auto& link : p["link"].GetArray()) {
      if (std::string(link["relation"].GetString()) == "next") {
        std::string url = link["url"].GetString();
        next = url.substr(url.find("/fhir/"));
      }
    }
    for (auto& e : p["entry"].GetArray()) ids.push_back(e["resource"]["id"].GetString());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"s1", "s2", "s3", "s4", "s5"}));

  EXPECT_EQ(client.Get("/fhir/Patient?_lastUpdated=ge2000-01-01").Json()["total"].GetInt(), 5);
  EXPECT_EQ(client.Get("/fhir/Patient?_lastUpdated=lt2000-01-01").Json()["total"].GetInt(), 0);
  Reply unknown = client.Get("/fhir/Patient?family=Smith");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.Diagnostics().find("'family' is not supported"), std::string::npos);
  Reply bad_count = client.Get("/fhir/Patient?_count=-1");
  EXPECT_EQ(bad_count.status, 400);
  EXPECT_NE(bad_count.Diagnostics().find("_count"), std::string::npos);
}

TYPED_TEST_P(InteractionTest, BatchAnswersEachEntry) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/b1", PatientJson("b1", "B")).status, 201);
  const std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":)" + PatientJson("b2", "New") + R"(,"request":{"method":"PUT","url":"Patient/b2"}},
    {"request":{"method":"GET","url":"Patient/b1"}},
    {"request":{"method":"GET","url":"Patient/nope"}},
    {"resource":)" + PatientJson("b1", "Stale") + R"(,"request":{"method":"PUT","url":"Patient/b1","ifMatch":"W/\"7\""}},
    {"request":{"method":"DELETE","url":"Patient/b1"}},
    {"request":{"method":"PATCH","url":"Patient/b1"}}
  ]})";
  Reply reply = client.Post("/fhir", bundle);
  ASSERT_EQ(reply.status, 200) << reply.body;
  rapidjson::Document doc = reply.Json();
  EXPECT_STREQ(doc["type"].GetString(), "batch-response");
  auto& e = doc["entry"];
  ASSERT_EQ(e.Size(), 6u);
  EXPECT_STREQ(e[0]["response"]["status"].GetString(), "201 Created");
  EXPECT_STREQ(e[1]["response"]["status"].GetString(), "200 OK");
  EXPECT_STREQ(e[1]["resource"]["id"].GetString(), "b1");
  EXPECT_STREQ(e[2]["response"]["status"].GetString(), "404 Not Found");
  EXPECT_STREQ(e[3]["response"]["status"].GetString(), "412 Precondition Failed");
  EXPECT_NE(std::string(e[3]["response"]["outcome"]["issue"][0]["diagnostics"].GetString())
                .find("entry 3"), std::string::npos);
  EXPECT_STREQ(e[4]["response"]["status"].GetString(), "204 No Content");
  EXPECT_STREQ(e[5]["response"]["status"].GetString(), "400 Bad Request");
  EXPECT_NE(std::string(e[5]["response"]["outcome"]["issue"][0]["diagnostics"].GetString())
                .find("PATCH"), std::string::npos);
  EXPECT_EQ(client.Get("/fhir/Patient/b2").status, 200);
  EXPECT_EQ(client.Get("/fhir/Patient/b1").status, 410);
}

// What a child's push relies on: each write entry honours request.ifMatch
// (412 on a stale version), answers with its own status, etag and location
// (an OperationOutcome naming the entry when it fails), a failing entry
// leaves the others written, and the server keeps serving.
TYPED_TEST_P(InteractionTest, BatchWritesAnswerEachWithVersionAndIfMatch) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/w1", PatientJson("w1", "W")).status, 201);
  auto write = [](const std::string& method, const std::string& id, const std::string& if_match,
                  const std::string& family) {
    std::string entry = "{";
    if (method == "PUT") entry += R"("resource":)" + PatientJson(id, family) + ",";
    entry += R"("request":{"method":")" + method + R"(","url":"Patient/)" + id + "\"";
    if (!if_match.empty()) entry += R"(,"ifMatch":"W/\")" + if_match + "\\\"\"";
    return entry + "}}";
  };
  const std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[)" +
                             write("PUT", "w2", "", "New") + "," +
                             write("PUT", "w1", "1", "Second") + "," +
                             write("PUT", "w1", "1", "Stale") + "," +
                             write("DELETE", "w2", "1", "") + "," +
                             R"({"resource":)" + PatientJson("other", "X") +
                             R"(,"request":{"method":"PUT","url":"Patient/w3"}},)" +
                             write("PUT", "w4", "", "Last") + "]}";
  Reply reply = client.Post("/fhir", bundle);
  ASSERT_EQ(reply.status, 200) << reply.body;
  rapidjson::Document doc = reply.Json();
  ASSERT_TRUE(doc.HasMember("entry")) << reply.body;
  auto& e = doc["entry"];
  ASSERT_EQ(e.Size(), 6u);
  auto status = [&](int i) { return std::string(e[i]["response"]["status"].GetString()); };
  auto member = [&](int i, const char* name) {
    const auto& response = e[i]["response"];
    return response.HasMember(name) ? std::string(response[name].GetString()) : std::string();
  };
  auto diagnostics = [&](int i) {
    return std::string(e[i]["response"]["outcome"]["issue"][0]["diagnostics"].GetString());
  };
  EXPECT_EQ(status(0), "201 Created");
  EXPECT_EQ(member(0, "etag"), "W/\"1\"");
  EXPECT_NE(member(0, "location").find("/fhir/Patient/w2/_history/1"), std::string::npos);
  EXPECT_EQ(status(1), "200 OK");
  EXPECT_EQ(member(1, "etag"), "W/\"2\"");
  EXPECT_NE(member(1, "location").find("/fhir/Patient/w1/_history/2"), std::string::npos);
  EXPECT_EQ(status(2), "412 Precondition Failed");
  EXPECT_EQ(member(2, "etag"), "");
  EXPECT_NE(diagnostics(2).find("entry 2 (PUT Patient/w1)"), std::string::npos) << diagnostics(2);
  EXPECT_NE(diagnostics(2).find("version conflict"), std::string::npos) << diagnostics(2);
  EXPECT_EQ(status(3), "204 No Content");
  EXPECT_EQ(member(3, "etag"), "W/\"2\"");
  EXPECT_EQ(status(4), "400 Bad Request");
  EXPECT_NE(diagnostics(4).find("entry 4 (PUT Patient/w3)"), std::string::npos) << diagnostics(4);
  EXPECT_EQ(status(5), "201 Created");
  EXPECT_EQ(member(5, "etag"), "W/\"1\"");

  Reply w1 = client.Get("/fhir/Patient/w1");
  EXPECT_EQ(w1.status, 200);
  EXPECT_NE(w1.body.find("Second"), std::string::npos);
  EXPECT_EQ(w1.Header("etag"), "W/\"2\"");
  EXPECT_EQ(client.Get("/fhir/Patient/w2").status, 410);
  EXPECT_EQ(client.Get("/fhir/Patient/w3").status, 404);
  EXPECT_EQ(client.Get("/fhir/Patient/w4").status, 200);

  // A run where every write holds is made at once; the answers are the same.
  const std::string clean = R"({"resourceType":"Bundle","type":"batch","entry":[)" +
                            write("PUT", "w5", "", "A") + "," + write("PUT", "w1", "2", "Third") +
                            "," + write("DELETE", "w4", "1", "") + "]}";
  Reply second = client.Post("/fhir", clean);
  ASSERT_EQ(second.status, 200) << second.body;
  rapidjson::Document again = second.Json();
  auto& a = again["entry"];
  ASSERT_EQ(a.Size(), 3u);
  EXPECT_STREQ(a[0]["response"]["status"].GetString(), "201 Created");
  EXPECT_STREQ(a[1]["response"]["status"].GetString(), "200 OK");
  EXPECT_STREQ(a[1]["response"]["etag"].GetString(), "W/\"3\"");
  EXPECT_STREQ(a[2]["response"]["status"].GetString(), "204 No Content");
  EXPECT_EQ(client.Get("/fhir/Patient/w5").status, 200);
  EXPECT_EQ(client.Get("/fhir/Patient/w4").status, 410);
  EXPECT_NE(client.Get("/fhir/Patient/w1").body.find("Third"), std::string::npos);
}

TYPED_TEST_P(InteractionTest, TransactionIsAllOrNothing) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/t1", PatientJson("t1", "T")).status, 201);
  const auto before = this->AllChanges();
  // The third entry is stale: nothing of the transaction may be written.
  const std::string failing = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + PatientJson("t2", "New") + R"(,"request":{"method":"PUT","url":"Patient/t2"}},
    {"fullUrl":"urn:uuid:1b4f1e0a-7a3c-4a8e-9a51-0c1f3e2d4b5a","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}},
    {"resource":)" + PatientJson("t1", "Stale") + R"(,"request":{"method":"PUT","url":"Patient/t1","ifMatch":"W/\"9\""}}
  ]})";
  Reply failed = client.Post("/fhir", failing);
  EXPECT_EQ(failed.status, 412) << failed.body;
  EXPECT_NE(failed.Diagnostics().find("nothing was written"), std::string::npos);
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_EQ(client.Get("/fhir/Patient/t2").status, 404);

  // The same with a valid version goes through; urn:uuid references are
  // rewritten to the created resource.
  const std::string ok = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:2c5e2f1b-8b4d-4b9f-8b62-1d2f4e3c5d6b","resource":)" +
                         PatientJson("ignored", "Linked") + R"(,"request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Observation","id":"obs1","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:2c5e2f1b-8b4d-4b9f-8b62-1d2f4e3c5d6b"}},"request":{"method":"PUT","url":"Observation/obs1"}},
    {"resource":)" + PatientJson("t1", "Fresh") + R"(,"request":{"method":"PUT","url":"Patient/t1","ifMatch":"W/\"1\""}},
    {"request":{"method":"GET","url":"Patient/t1"}}
  ]})";
  Reply done = client.Post("/fhir", ok);
  ASSERT_EQ(done.status, 200) << done.body;
  rapidjson::Document doc = done.Json();
  EXPECT_STREQ(doc["type"].GetString(), "transaction-response");
  EXPECT_STREQ(doc["entry"][0]["response"]["status"].GetString(), "201 Created");
  EXPECT_STREQ(doc["entry"][2]["response"]["etag"].GetString(), "W/\"2\"");
  EXPECT_STREQ(doc["entry"][3]["resource"]["name"][0]["family"].GetString(), "Fresh");
  Reply obs = client.Get("/fhir/Observation/obs1");
  EXPECT_STREQ(obs.Json()["subject"]["reference"].GetString(),
               "Patient/2c5e2f1b-8b4d-4b9f-8b62-1d2f4e3c5d6b");
  EXPECT_EQ(client.Get("/fhir/Patient/2c5e2f1b-8b4d-4b9f-8b62-1d2f4e3c5d6b").status, 200);
  EXPECT_EQ(this->AllChanges().size(), before.size() + 3);
}

TYPED_TEST_P(InteractionTest, AuthenticationAndRoles) {
  // Each client is scoped so that its keep-alive connection is closed
  // before the next: a Poco worker serves one connection at a time.
  {
  TestClient anonymous("127.0.0.1", this->env_.port(), "");
  for (const char* target : {"/fhir/metadata", "/fhir/Patient/x", "/feed/recent", "/nowhere"}) {
    Reply reply = anonymous.Get(target);
    EXPECT_EQ(reply.status, 401) << target;
    EXPECT_NE(reply.Header("www-authenticate").find("Basic realm=\"fhirsync\""), std::string::npos);
    EXPECT_EQ(reply.IssueCode(), "login");
  }
  TestClient wrong("127.0.0.1", this->env_.port(), BasicAuth(kWriter, "not-the-password"));
  Reply wrong_reply = wrong.Get("/fhir/metadata");
  EXPECT_EQ(wrong_reply.status, 401);
  EXPECT_NE(wrong_reply.Diagnostics().find("wrong password"), std::string::npos);
  TestClient bad_token("127.0.0.1", this->env_.port(), BearerAuth("fst_not-a-token"));
  EXPECT_EQ(bad_token.Get("/fhir/metadata").status, 401);
  TestClient garbage("127.0.0.1", this->env_.port(), "Basic !!!not-base64");
  EXPECT_EQ(garbage.Get("/fhir/metadata").status, 401);
  }

  TestClient reader = this->As(kReader);
  EXPECT_EQ(reader.Get("/fhir/metadata").status, 200);
  Reply forbidden = reader.Put("/fhir/Patient/r1", PatientJson("r1", "R"));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.IssueCode(), "forbidden");
  EXPECT_NE(forbidden.Diagnostics().find("lacks the write role"), std::string::npos);
  EXPECT_EQ(this->Writer().Get("/fhir/Patient/r1").status, 404);

  TestClient admin = this->As(kAdmin);
  EXPECT_EQ(admin.Put("/fhir/Patient/r1", PatientJson("r1", "R")).status, 201);
  TestClient token("127.0.0.1", this->env_.port(), BearerAuth(this->env_.token()));
  EXPECT_EQ(token.Get("/fhir/Patient/r1").status, 200);
  EXPECT_EQ(token.Put("/fhir/Patient/r2", PatientJson("r2", "R")).status, 201);
}

// Authorisation is decided on the routed path: every spelling of an admin
// route that the router dispatches to the admin handlers needs the admin
// role, and spellings it refuses are refused for everyone alike.
TYPED_TEST_P(InteractionTest, AdminRoutesNeedTheAdminRoleHoweverSpelled) {
  struct Route {
    const char* method;
    const char* path;   // without the leading "/admin"
    const char* query;  // "" or "?..."
  };
  const Route routes[] = {
      {"GET", "/outbox", ""},           {"GET", "/conflicts", ""},
      {"GET", "/audit", "?status=ok"},  {"GET", "/conflicts/1", ""},
      {"POST", "/outbox/_retry-all", "?force=1"}, {"POST", "/outbox/1/retry", "?force=1"},
      {"POST", "/outbox/1/discard", ""}, {"POST", "/resubmit", ""},
  };
  // Spellings the router takes for the same route.
  auto same_route = [](const std::string& path) {
    return std::vector<std::string>{
        "/admin" + path,   "//admin" + path,         "/%61dmin" + path, "/%61%64%6D%69%6E" + path,
        "/admin/" + path,  "//admin//" + path + "/", "/admin" + path + "/"};
  };
  // Spellings with dot segments: refused before routing.
  auto dotted = [](const std::string& path) {
    return std::vector<std::string>{"/./admin" + path, "/fhir/../admin" + path,
                                    "/admin/." + path, "/%2e%2e/admin" + path};
  };
  TestClient reader = this->As(kReader);
  TestClient writer = this->Writer();
  TestClient admin = this->As(kAdmin);
  for (const Route& route : routes) {
    const std::string method = route.method;
    const int canonical = admin.Call(method, "/admin" + std::string(route.path) + route.query).status;
    EXPECT_NE(canonical, 401) << method << " " << route.path;
    EXPECT_NE(canonical, 403) << method << " " << route.path;
    for (const std::string& target : same_route(route.path)) {
      const std::string url = target + route.query;
      Reply as_reader = reader.Call(method, url);
      EXPECT_EQ(as_reader.status, 403) << method << " " << url << ": " << as_reader.body;
      EXPECT_NE(as_reader.Diagnostics().find("lacks the admin role"), std::string::npos)
          << method << " " << url;
      Reply as_writer = writer.Call(method, url);
      EXPECT_EQ(as_writer.status, 403) << method << " " << url << ": " << as_writer.body;
      EXPECT_EQ(admin.Call(method, url).status, canonical) << method << " " << url;
    }
    for (const std::string& target : dotted(route.path)) {
      const std::string url = target + route.query;
      for (TestClient* client : {&reader, &writer, &admin}) {
        Reply reply = client->Call(method, url);
        EXPECT_EQ(reply.status, 400) << method << " " << url << ": " << reply.body;
        EXPECT_NE(reply.Diagnostics().find("dot segment"), std::string::npos) << url;
      }
    }
    // Upper case is another path, which no route serves: 404 for whoever
    // may use the method, 403 for a reader's POST.
    const std::string upper = "/ADMIN" + std::string(route.path) + route.query;
    EXPECT_EQ(reader.Call(method, upper).status, method == "GET" ? 404 : 403) << upper;
    EXPECT_EQ(writer.Call(method, upper).status, 404) << upper;
    EXPECT_EQ(admin.Call(method, upper).status, 404) << upper;
  }
  // The admin API answers nothing to a non-admin, whatever the spelling:
  // the outbox listing was patient data.
  EXPECT_EQ(reader.Get("//admin/outbox").body.find("\"items\""), std::string::npos);
}

// A child pulls with read-many, a batch Bundle of GETs: a user with only the
// read role may send that, and nothing that writes.
TYPED_TEST_P(InteractionTest, ReaderMayPostOnlyBundlesOfReads) {
  ASSERT_EQ(this->Writer().Put("/fhir/Patient/rb1", PatientJson("rb1", "R")).status, 201);
  TestClient reader = this->As(kReader);
  Reply reads = reader.Post("/fhir", R"({"resourceType":"Bundle","type":"batch","entry":[
    {"request":{"method":"GET","url":"Patient/rb1"}},
    {"request":{"method":"GET","url":"Patient/nope"}}]})");
  ASSERT_EQ(reads.status, 200) << reads.body;
  rapidjson::Document doc = reads.Json();
  ASSERT_EQ(doc["entry"].Size(), 2u);
  EXPECT_STREQ(doc["entry"][0]["resource"]["id"].GetString(), "rb1");
  EXPECT_STREQ(doc["entry"][1]["response"]["status"].GetString(), "404 Not Found");

  const std::string put_entry = R"({"resource":)" + PatientJson("rb2", "W") +
                                R"(,"request":{"method":"PUT","url":"Patient/rb2"}})";
  for (const char* type : {"batch", "transaction"}) {
    // The refused body is read, so the same keep-alive connection goes on.
    Reply refused = reader.Post(
        "/fhir", std::string(R"({"resourceType":"Bundle","type":")") + type + R"(","entry":[
      {"request":{"method":"GET","url":"Patient/rb1"}},)" + put_entry + "]}");
    EXPECT_EQ(refused.status, 403) << type;
    EXPECT_EQ(refused.IssueCode(), "forbidden");
    EXPECT_NE(refused.Diagnostics().find("lacks the write role"), std::string::npos);
    EXPECT_NE(refused.Diagnostics().find("all GET needs only the read role"), std::string::npos);
    EXPECT_EQ(reader.Get("/fhir/Patient/rb1").status, 200);
  }
  Reply not_json = reader.Post("/fhir", R"({"resourceType":"Bundle","type":"batch","entry":[)");
  EXPECT_EQ(not_json.status, 403);
  Reply create = reader.Post("/fhir/Patient", PatientJson("rb3", "C"));
  EXPECT_EQ(create.status, 403);
  EXPECT_NE(create.Diagnostics().find("lacks the write role"), std::string::npos);
  EXPECT_EQ(create.Diagnostics().find("read role)"), std::string::npos);
  EXPECT_EQ(this->Writer().Get("/fhir/Patient/rb2").status, 404);
}

TYPED_TEST_P(InteractionTest, GzipBothWays) {
  TestClient client = this->Writer();
  std::string family(3000, 'g');  // large enough to be worth compressing
  RequestOptions gz;
  gz.gzip_body = true;
  gz.accept_gzip = true;
  Reply put = client.Call("PUT", "/fhir/Patient/z1", PatientJson("z1", family), gz);
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_TRUE(put.was_gzip);
  RequestOptions accept;
  accept.accept_gzip = true;
  Reply read = client.Call("GET", "/fhir/Patient/z1", "", accept);
  EXPECT_TRUE(read.was_gzip);
  EXPECT_EQ(read.Header("vary"), "Accept-Encoding");
  EXPECT_EQ(std::string(read.Json()["name"][0]["family"].GetString()), family);
  Reply plain = client.Get("/fhir/Patient/z1");
  EXPECT_FALSE(plain.was_gzip);
  EXPECT_EQ(plain.body, read.body);

  // A gzip body cut off mid-stream: 400, and nothing is written.
  const auto before = this->AllChanges();
  std::string compressed = Gzip(PatientJson("z2", family));
  for (std::size_t cut : {compressed.size() - 4, compressed.size() / 2, std::size_t{10}}) {
    RequestOptions truncated;
    truncated.use_raw = true;
    truncated.raw_body = compressed.substr(0, cut);
    truncated.headers = {{"Content-Encoding", "gzip"}};
    Reply reply = client.Call("PUT", "/fhir/Patient/z2", "", truncated);
    EXPECT_EQ(reply.status, 400) << "cut at " << cut;
    EXPECT_NE(reply.Diagnostics().find("truncated"), std::string::npos) << reply.body;
  }
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_EQ(client.Get("/fhir/Patient/z2").status, 404);
}

TYPED_TEST_P(InteractionTest, BadRequestsAreRefusedAndTheServerKeepsServing) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/ok", PatientJson("ok", "Ok")).status, 201);
  const auto before = this->AllChanges();
  struct Case {
    std::string method, target, body, expected;
    int status;
  };
  const std::vector<Case> cases = {
      {"PUT", "/fhir/Patient/ok", R"({"resourceType":"Patient","id":"ok",)", "not valid JSON", 400},
      {"PUT", "/fhir/Patient/ok", R"({"resourceType":"Observation","id":"ok"})",
       "does not match the URL type", 400},
      {"PUT", "/fhir/Patient/ok", PatientJson("other", "X"), "does not match the URL id", 400},
      {"PUT", "/fhir/Patient/ok", R"({"resourceType":"Patient"})", "has no id", 400},
      {"PUT", "/fhir/Patient/ok", "[1,2]", "not a JSON object", 400},
      {"POST", "/fhir", R"({"resourceType":"Bundle","type":"collection","entry":[]})",
       "Bundle type 'collection' is not supported", 400},
      {"POST", "/fhir", PatientJson("ok", "X"), "takes a Bundle", 400},
      {"GET", "/fhir/Patient/..%2F..%2Fetc%2Fpasswd", "", "not allowed by FHIR's id rule", 400},
      {"GET", "/fhir/Patient/%00evil", "", "id", 400},
      {"GET", "/fhir/Patient/" + std::string(100, 'a'), "", "at most 64", 400},
      {"GET", "/fhir/pat!ent/1", "", "not a FHIR type name", 400},
      {"GET", "/fhir/Patient/%zz", "", "malformed", 400},
      {"PUT", "/fhir/Patient/ok", PatientJson("ok", "X"), "If-Match", 400},
      {"GET", "/feed/-1", "", "not a page number", 400},
      {"PATCH", "/fhir/Patient/ok", "{}", "not allowed", 405},
  };
  for (const Case& c : cases) {
    RequestOptions options;
    if (c.expected == "If-Match") options.headers = {{"If-Match", "W/\"abc\""}};
    Reply reply = client.Call(c.method, c.target, c.body, options);
    EXPECT_EQ(reply.status, c.status) << c.method << " " << c.target << ": " << reply.body;
    EXPECT_NE(reply.Diagnostics().find(c.expected), std::string::npos)
        << c.method << " " << c.target << ": " << reply.body;
    EXPECT_NE(reply.Header("content-type").find("application/fhir+json"), std::string::npos);
  }
  // Hostile nesting that would exhaust a parser's stack.
  Reply deep = client.Put("/fhir/Patient/ok", std::string(200000, '[') + std::string(200000, ']'));
  EXPECT_EQ(deep.status, 400);
  EXPECT_NE(deep.Diagnostics().find("deeper than 100 levels"), std::string::npos);
  // Oversize: refused by the cap, named in the message.
  std::string huge = PatientJson("ok", std::string(3 * 1024 * 1024, 'h'));
  Reply oversize = client.Put("/fhir/Patient/ok", huge);
  EXPECT_EQ(oversize.status, 413);
  EXPECT_NE(oversize.Diagnostics().find("server.max_request_bytes"), std::string::npos);
  // A gzip bomb: small on the wire, over the cap inflated.
  RequestOptions bomb;
  bomb.gzip_body = true;
  Reply bombed = client.Call("PUT", "/fhir/Patient/ok", huge, bomb);
  EXPECT_EQ(bombed.status, 413);
  EXPECT_NE(bombed.Diagnostics().find("inflates to more than the cap"), std::string::npos);

  EXPECT_EQ(this->AllChanges(), before);
  Reply still = client.Get("/fhir/Patient/ok");
  EXPECT_EQ(still.status, 200);
  EXPECT_STREQ(still.Json()["name"][0]["family"].GetString(), "Ok");
}

TYPED_TEST_P(InteractionTest, AtomFeedPagesLinksAndCaching) {
  TestClient client = this->Writer();
  // 12 changes over pages of 5: pages 1 and 2 are archives, 3 is recent.
  for (int i = 0; i < 12; ++i) {
    std::string id = "f" + std::to_string(i % 10);
    if (i % 4 == 3) {
      ASSERT_EQ(client.Put("/fhir/Observation/" + id, R"({"resourceType":"Observation","id":")" + id + R"(","status":"final","code":{"text":"x"}})").status, 201);
    } else {
      ASSERT_EQ(client.Put("/fhir/Patient/" + id, PatientJson(id, "F" + std::to_string(i))).status, i >= 10 ? 200 : 201);
    }
  }
  ASSERT_EQ(client.Call("DELETE", "/fhir/Patient/f0").status, 204);  // change 13

  Reply recent = client.Get("/feed/recent");
  ASSERT_EQ(recent.status, 200) << recent.body;
  EXPECT_NE(recent.Header("content-type").find("application/atom+xml"), std::string::npos);
  EXPECT_EQ(recent.Header("cache-control"), "no-cache");
  feed::AtomPage page = this->ReadFeed("http://127.0.0.1/feed/recent", recent.body);
  EXPECT_EQ(page.entries.size(), 3u);
  EXPECT_NE(page.info.id.find("+3"), std::string::npos);
  EXPECT_NE(page.info.self.find("/feed/recent"), std::string::npos);
  EXPECT_NE(page.info.via.find("/feed/3"), std::string::npos);
  EXPECT_NE(page.info.prev_archive.find("/feed/2"), std::string::npos);
  EXPECT_NE(page.info.first.find("/feed/1"), std::string::npos);
  EXPECT_TRUE(page.info.next_archive.empty());
  const feed::AtomEntry& last = page.entries.back();
  EXPECT_EQ(last.action, feed::AtomAction::kDeleted);
  EXPECT_EQ(last.resource_type, "Patient");
  EXPECT_EQ(last.content_type, "application/vnd.atomfeed+xml");
  EXPECT_EQ(last.client_urls.at("fhir"), "/fhir/Patient/f0/_history/3");
  EXPECT_EQ(last.id.rfind("tag:atomfeed.ict4h.org:", 0), 0u);

  Reply archive = client.Get("/feed/1");
  ASSERT_EQ(archive.status, 200);
  EXPECT_EQ(archive.Header("cache-control"), "public, max-age=31536000, immutable");
  std::string etag = archive.Header("etag");
  EXPECT_EQ(etag.front(), '"');  // strong
  feed::AtomPage first = this->ReadFeed("http://127.0.0.1/feed/1", archive.body);
  ASSERT_EQ(first.entries.size(), 5u);
  EXPECT_EQ(first.entries[0].action, feed::AtomAction::kCreated);
  EXPECT_EQ(first.entries[3].resource_type, "Observation");
  EXPECT_NE(first.info.next_archive.find("/feed/2"), std::string::npos);
  EXPECT_TRUE(first.info.prev_archive.empty());
  // Stable: the same bytes again, and 304 for a client holding the ETag.
  EXPECT_EQ(client.Get("/feed/1").body, archive.body);
  RequestOptions conditional = WithHeader("If-None-Match", etag);
  EXPECT_EQ(client.Call("GET", "/feed/1", "", conditional).status, 304);
  // Entry ids are derived from the change, not random.
  EXPECT_EQ(this->ReadFeed("http://127.0.0.1/feed/1", client.Get("/feed/1").body).entries[2].id,
            first.entries[2].id);

  // Server-side filtering keeps the page numbers and drops other types.
  Reply filtered = client.Get("/feed/1?types=Observation");
  feed::AtomPage only = this->ReadFeed("http://127.0.0.1/feed/1", filtered.body);
  ASSERT_EQ(only.entries.size(), 1u);
  EXPECT_EQ(only.entries[0].id, first.entries[3].id);
  EXPECT_NE(only.info.next_archive.find("/feed/2?types=Observation"), std::string::npos);
  // The recent page (served from a cache keyed by the last seq) shows a
  // new change at once; page 3 turns into an archive page when page 4 starts.
  ASSERT_EQ(client.Put("/fhir/Patient/late", PatientJson("late", "L")).status, 201);
  feed::AtomPage fresh =
      this->ReadFeed("http://127.0.0.1/feed/recent", client.Get("/feed/recent").body);
  ASSERT_EQ(fresh.entries.size(), 4u);
  EXPECT_EQ(fresh.entries.back().client_urls.at("fhir"), "/fhir/Patient/late/_history/1");
  ASSERT_EQ(client.Put("/fhir/Patient/late2", PatientJson("late2", "L")).status, 201);
  ASSERT_EQ(client.Put("/fhir/Patient/late3", PatientJson("late3", "L")).status, 201);
  Reply third = client.Get("/feed/3");
  EXPECT_EQ(third.Header("cache-control"), "public, max-age=31536000, immutable");
  feed::AtomPage third_page = this->ReadFeed("http://127.0.0.1/feed/3", third.body);
  EXPECT_EQ(third_page.entries.size(), 5u);
  EXPECT_NE(third_page.info.next_archive.find("/feed/4"), std::string::npos);

  Reply bad_types = client.Get("/feed/1?types=Pat<ient");
  EXPECT_EQ(bad_types.status, 400);
  Reply beyond = client.Get("/feed/5");
  EXPECT_EQ(beyond.status, 404);
  EXPECT_NE(beyond.Diagnostics().find("newest is 4"), std::string::npos);
}

// HEAD answers with GET's status and headers and sends no body. The HEAD
// and a GET are sent pipelined on one raw connection: the GET's status line
// must follow the HEAD's header block at once, which it could not if any body
// byte had been sent after it.
TYPED_TEST_P(InteractionTest, HeadGivesTheHeadersOfGetWithoutABody) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/h1", PatientJson("h1", "Head")).status, 201);
  Reply get = client.Get("/fhir/Patient/h1");
  ASSERT_EQ(get.status, 200);
  ASSERT_FALSE(get.body.empty());

  const std::string auth = BasicAuth(kReader, PasswordOf(kReader));
  auto exchange = [&](const std::string& target) {
    return RawExchange(this->env_.port(),
                       "HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                           auth + "\r\n\r\nGET " + target +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                           "Authorization: " + auth + "\r\n\r\n");
  };
  std::string both = exchange("/fhir/Patient/h1");
  std::size_t head_end = both.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << both;
  const std::string head = both.substr(0, head_end + 2);
  const std::string rest = both.substr(head_end + 4);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("ETag: " + get.Header("etag") + "\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Last-Modified: " + get.Header("last-modified") + "\r\n"),
            std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: " + get.Header("content-type") + "\r\n"),
            std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
            std::string::npos) << head;
  // No body: the GET's answer starts right after the HEAD's headers.
  EXPECT_EQ(rest.rfind("HTTP/1.1 200", 0), 0u) << rest.substr(0, 200);
  EXPECT_NE(rest.find(get.body), std::string::npos);

  // Errors too: status and headers, no body.
  std::string missing = exchange("/fhir/Patient/never-there");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404", 0), 0u) << missing.substr(0, 200);
  std::size_t missing_end = missing.find("\r\n\r\n");
  ASSERT_NE(missing_end, std::string::npos);
  EXPECT_EQ(missing.compare(missing_end + 4, 12, "HTTP/1.1 404"), 0) << missing;

  ASSERT_EQ(client.Call("DELETE", "/fhir/Patient/h1").status, 204);
  std::string gone = exchange("/fhir/Patient/h1");
  EXPECT_EQ(gone.rfind("HTTP/1.1 410", 0), 0u) << gone.substr(0, 200);
  EXPECT_NE(gone.find("ETag: W/\"2\"\r\n"), std::string::npos) << gone.substr(0, 300);
  std::size_t gone_end = gone.find("\r\n\r\n");
  ASSERT_NE(gone_end, std::string::npos);
  EXPECT_EQ(gone.compare(gone_end + 4, 12, "HTTP/1.1 410"), 0) << gone;

  // HEAD needs credentials like GET.
  std::string anonymous = RawExchange(
      this->env_.port(),
      "HEAD /fhir/Patient/h1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(anonymous.rfind("HTTP/1.1 401", 0), 0u) << anonymous.substr(0, 200);
  EXPECT_NE(anonymous.find("WWW-Authenticate: Basic realm=\"fhirsync\""), std::string::npos);
  EXPECT_EQ(anonymous.substr(anonymous.find("\r\n\r\n") + 4), "");
}

// If-None-Match: * on a write is a precondition ("create only"), not the
// cache validator of a GET: a child's create never replaces a resource
// another node created at the same id.
TYPED_TEST_P(InteractionTest, PutWithIfNoneMatchStarOnlyCreates) {
  TestClient client = this->Writer();
  RequestOptions create_only = WithHeader("If-None-Match", "*");
  Reply created = client.Call("PUT", "/fhir/Patient/mrn-1", PatientJson("mrn-1", "First"),
                              create_only);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("etag"), "W/\"1\"");

  const auto before = this->AllChanges();
  Reply taken = client.Call("PUT", "/fhir/Patient/mrn-1", PatientJson("mrn-1", "Second"),
                            create_only);
  EXPECT_EQ(taken.status, 412) << taken.body;
  EXPECT_EQ(taken.IssueCode(), "duplicate");
  EXPECT_NE(taken.Diagnostics().find("Patient/mrn-1 already exists (version 1)"),
            std::string::npos)
      << taken.body;
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_NE(client.Get("/fhir/Patient/mrn-1").body.find("First"), std::string::npos);

  // The body is judged first: a bad one is a 400 whether or not it exists.
  Reply bad = client.Call("PUT", "/fhir/Patient/mrn-1", PatientJson("other", "X"), create_only);
  EXPECT_EQ(bad.status, 400) << bad.body;
  // Only "*" is a write precondition here, and not together with If-Match.
  Reply etag = client.Call("PUT", "/fhir/Patient/mrn-9", PatientJson("mrn-9", "X"),
                           WithHeader("If-None-Match", "W/\"1\""));
  EXPECT_EQ(etag.status, 400) << etag.body;
  EXPECT_NE(etag.Diagnostics().find("only '*'"), std::string::npos) << etag.body;
  RequestOptions both = WithHeader("If-None-Match", "*");
  both.headers.emplace_back("If-Match", "W/\"1\"");
  Reply twice = client.Call("PUT", "/fhir/Patient/mrn-1", PatientJson("mrn-1", "X"), both);
  EXPECT_EQ(twice.status, 400) << twice.body;
  EXPECT_NE(twice.Diagnostics().find("exclude each other"), std::string::npos) << twice.body;
  EXPECT_EQ(client.Get("/fhir/Patient/mrn-9").status, 404);

  // A deleted resource may be created again.
  ASSERT_EQ(client.Call("DELETE", "/fhir/Patient/mrn-1", "", {}).status, 204);
  Reply recreated = client.Call("PUT", "/fhir/Patient/mrn-1", PatientJson("mrn-1", "Again"),
                                create_only);
  ASSERT_EQ(recreated.status, 201) << recreated.body;
  EXPECT_EQ(recreated.Header("etag"), "W/\"3\"");

  // Batch entries carry it as request.ifNoneMatch, each judged alone.
  auto entry = [](const std::string& id, const std::string& family) {
    return R"({"resource":)" + PatientJson(id, family) +
           R"(,"request":{"method":"PUT","url":"Patient/)" + id + R"(","ifNoneMatch":"*"}})";
  };
  Reply batch = client.Post("/fhir", R"({"resourceType":"Bundle","type":"batch","entry":[)" +
                                         entry("mrn-1", "Batched") + "," +
                                         entry("mrn-2", "Batched") + "]}");
  ASSERT_EQ(batch.status, 200) << batch.body;
  rapidjson::Document doc = batch.Json();
  auto& e = doc["entry"];
  ASSERT_EQ(e.Size(), 2u);
  EXPECT_STREQ(e[0]["response"]["status"].GetString(), "412 Precondition Failed");
  const std::string diagnostics = e[0]["response"]["outcome"]["issue"][0]["diagnostics"].GetString();
  EXPECT_NE(diagnostics.find("entry 0 (PUT Patient/mrn-1)"), std::string::npos) << diagnostics;
  EXPECT_NE(diagnostics.find("already exists (version 3)"), std::string::npos) << diagnostics;
  EXPECT_STREQ(e[1]["response"]["status"].GetString(), "201 Created");
  EXPECT_NE(client.Get("/fhir/Patient/mrn-1").body.find("Again"), std::string::npos);

  // In a transaction, the existing one fails the whole of it.
  const auto settled = this->AllChanges();
  Reply transaction =
      client.Post("/fhir", R"({"resourceType":"Bundle","type":"transaction","entry":[)" +
                               entry("mrn-3", "T") + "," + entry("mrn-2", "T") + "]}");
  EXPECT_EQ(transaction.status, 412) << transaction.body;
  EXPECT_NE(transaction.Diagnostics().find("Patient/mrn-2 already exists (version 1)"),
            std::string::npos)
      << transaction.body;
  EXPECT_NE(transaction.Diagnostics().find("nothing was written"), std::string::npos);
  EXPECT_EQ(this->AllChanges(), settled);
  EXPECT_EQ(client.Get("/fhir/Patient/mrn-3").status, 404);

  // The feed's cache validator is untouched: GET with If-None-Match: * is 304.
  EXPECT_EQ(client.Call("GET", "/feed/recent", "", create_only).status, 304);
}

REGISTER_TYPED_TEST_SUITE_P(InteractionTest, CreateReadUpdateWithVersions,
                            AdminRoutesNeedTheAdminRoleHoweverSpelled,
                            DeleteGivesGoneAndUnknownGivesNotFound,
                            CreateAssignsIdAndHonoursIfNoneExist,
                            MetadataListsTypesAndInteractions,
                            HistoryAtEveryLevelWithSinceCountAndNext,
                            SearchByIdLastUpdatedAndCountWithPaging, BatchAnswersEachEntry,
                            BatchWritesAnswerEachWithVersionAndIfMatch,
                            TransactionIsAllOrNothing, AuthenticationAndRoles,
                            ReaderMayPostOnlyBundlesOfReads, GzipBothWays,
                            BadRequestsAreRefusedAndTheServerKeepsServing,
                            AtomFeedPagesLinksAndCaching,
                            HeadGivesTheHeadersOfGetWithoutABody,
                            PutWithIfNoneMatchStarOnlyCreates);

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SERVER_INTERACTION_TESTS_H_
