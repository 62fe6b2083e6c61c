// The parent refuses what it cannot answer safely: interaction tests, run
// in both environments of interaction_tests.h (in-process over the fake
// store, and a real `fhirsync serve` over SQLite). Each environment caps
// answers at kMaxResponseBytes (server.max_response_bytes), so that a
// few resources of about a megabyte pass it.

#ifndef FHIRSYNC_TESTS_SERVER_REFUSAL_TESTS_H_
#define FHIRSYNC_TESTS_SERVER_REFUSAL_TESTS_H_

#include <set>
#include <string>
#include <vector>

#include "interaction_tests.h"

namespace fhirsync::testing {

inline constexpr std::size_t kMaxResponseBytes = 4 * 1024 * 1024;
inline const std::string kCapText = "4194304 bytes (server.max_response_bytes)";

// A Patient of about `size` bytes.
inline std::string BigPatientJson(const std::string& id, std::size_t size) {
  return PatientJson(id, std::string(size, 'b'));
}

// A Bundle of `type` whose entries are the given JSON objects.
inline std::string BundleOf(const std::string& type, const std::vector<std::string>& entries) {
  std::string out = R"({"resourceType":"Bundle","type":")" + type + R"(","entry":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += ',';
    out += entries[i];
  }
  return out + "]}";
}

inline std::string GetEntry(const std::string& url) {
  return R"({"request":{"method":"GET","url":")" + url + R"("}})";
}

inline std::string WriteEntry(const std::string& method, const std::string& url,
                              const std::string& resource) {
  return R"({"resource":)" + resource + R"(,"request":{"method":")" + method + R"(","url":")" +
         url + R"("}})";
}

// The `next` link of a Bundle as a path ("/fhir/..."), or "" without one.
inline std::string NextLink(const rapidjson::Document& bundle) {
  if (!bundle.HasMember("link")) return "";
  for (const auto& link : bundle["link"].GetArray()) {
    if (std::string(link["relation"].GetString()) == "next") {
      std::string url = link["url"].GetString();
      return url.substr(url.find("/fhir/"));
    }
  }
  return "";
}

inline std::size_t EntryCount(const rapidjson::Document& bundle) {
  return bundle.HasMember("entry") ? bundle["entry"].Size() : 0;
}

// error.message of an OpenMRS REST error body.
inline std::string RestMessage(const Reply& reply) {
  rapidjson::Document doc = reply.Json();
  if (!doc.HasMember("error") || !doc["error"].HasMember("message")) return "";
  return doc["error"]["message"].GetString();
}

template <typename Env>
class RefusalTest : public InteractionTest<Env> {};

TYPED_TEST_SUITE_P(RefusalTest);

// 800 reads of one large resource in a 45 KB Bundle: a reader's request
// that would make an answer of 800 times its size. It is refused as soon as
// the answer reaches the cap; the connection goes on.
TYPED_TEST_P(RefusalTest, ReadOnlyBatchPastTheAnswerCapIsRefused) {
  ASSERT_EQ(this->Writer().Put("/fhir/Patient/big", BigPatientJson("big", 1000000)).status, 201);
  const auto before = this->AllChanges();
  TestClient reader = this->As(kReader);
  for (const char* type : {"batch", "transaction"}) {
    Reply refused = reader.Post("/fhir", BundleOf(type, std::vector<std::string>(
                                                            800, GetEntry("Patient/big"))));
    EXPECT_EQ(refused.status, 413) << type;
    EXPECT_EQ(refused.IssueCode(), "too-costly") << type;
    EXPECT_EQ(refused.Diagnostics(),
              "the answer to this Bundle, at entry 4 (GET Patient/big) of 800 entries, would "
              "pass the answer size cap of " + kCapText +
                  "; nothing was written: send fewer entries per Bundle")
        << type;
    // The same keep-alive connection answers the next request.
    Reply fits = reader.Post("/fhir", BundleOf(type, {GetEntry("Patient/big"),
                                                      GetEntry("Patient/big")}));
    ASSERT_EQ(fits.status, 200) << type << ": " << fits.body.substr(0, 300);
    rapidjson::Document doc = fits.Json();
    ASSERT_EQ(EntryCount(doc), 2u);
    EXPECT_STREQ(doc["entry"][1]["resource"]["id"].GetString(), "big");
  }
  EXPECT_EQ(this->AllChanges(), before);
}

// Once an entry has written, the Bundle is answered: each entry whose
// answer would pass the cap gets its own 413, the others their answers.
TYPED_TEST_P(RefusalTest, BatchThatWroteAnswersEntriesPastTheCapWith413) {
  TestClient client = this->Writer();
  ASSERT_EQ(client.Put("/fhir/Patient/big", BigPatientJson("big", 1000000)).status, 201);
  std::vector<std::string> entries{WriteEntry("PUT", "Patient/w1", PatientJson("w1", "W"))};
  for (int i = 0; i < 6; ++i) entries.push_back(GetEntry("Patient/big"));
  Reply reply = client.Post("/fhir", BundleOf("batch", entries));
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  rapidjson::Document doc = reply.Json();
  ASSERT_EQ(EntryCount(doc), 7u);
  EXPECT_STREQ(doc["entry"][0]["response"]["status"].GetString(), "201 Created");
  for (int i = 1; i <= 4; ++i) {
    EXPECT_STREQ(doc["entry"][i]["response"]["status"].GetString(), "200 OK") << i;
    EXPECT_TRUE(doc["entry"][i].HasMember("resource")) << i;
  }
  for (int i = 5; i <= 6; ++i) {
    const auto& response = doc["entry"][i]["response"];
    EXPECT_EQ(std::string(response["status"].GetString()).substr(0, 4), "413 ") << i;
    EXPECT_FALSE(doc["entry"][i].HasMember("resource")) << i;
    EXPECT_EQ(std::string(response["outcome"]["issue"][0]["diagnostics"].GetString()),
              "entry " + std::to_string(i) +
                  " (GET Patient/big): its answer would pass the answer size cap of " + kCapText);
  }
  EXPECT_EQ(client.Get("/fhir/Patient/w1").status, 200);
}

// Search and _history pages stop at the cap with a next link that goes on
// from the last entry held, so paging on still gives everything once.
TYPED_TEST_P(RefusalTest, PagesStopAtTheAnswerCapAndGoOn) {
  TestClient client = this->Writer();
  std::set<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "big" + std::to_string(i);
    ASSERT_EQ(client.Put("/fhir/Patient/" + id, BigPatientJson(id, 1000000)).status, 201);
    ids.insert(id);
  }
  for (int v = 2; v <= 5; ++v) {
    ASSERT_EQ(client.Put("/fhir/Patient/big0", BigPatientJson("big0", 1000000 + v)).status, 200);
  }
  // Every page of `first`, following next links: the entry counts and the
  // resource ids (with versionId) seen.
  auto page_through = [&](const std::string& first, std::vector<std::size_t>* counts) {
    std::vector<std::string> seen;
    for (std::string next = first; !next.empty();) {
      Reply page = client.Get(next);
      EXPECT_EQ(page.status, 200) << next << ": " << page.body.substr(0, 300);
      if (page.status != 200) break;
      EXPECT_LE(page.body.size(), kMaxResponseBytes) << next;
      rapidjson::Document doc = page.Json();
      counts->push_back(EntryCount(doc));
      for (std::size_t i = 0; i < EntryCount(doc); ++i) {
        const auto& resource = doc["entry"][static_cast<rapidjson::SizeType>(i)]["resource"];
        seen.push_back(std::string(resource["id"].GetString()) + "/" +
                       resource["meta"]["versionId"].GetString());
      }
      next = NextLink(doc);
    }
    return seen;
  };
  std::vector<std::size_t> counts;
  std::vector<std::string> search = page_through("/fhir/Patient?_count=10", &counts);
  EXPECT_EQ(counts, (std::vector<std::size_t>{4, 2}));
  EXPECT_EQ(search, (std::vector<std::string>{"big0/5", "big1/1", "big2/1", "big3/1", "big4/1",
                                              "big5/1"}));
  counts.clear();
  std::vector<std::string> history = page_through("/fhir/Patient/_history?_count=10", &counts);
  EXPECT_EQ(counts, (std::vector<std::size_t>{4, 4, 2}));
  EXPECT_EQ(history, (std::vector<std::string>{"big0/1", "big1/1", "big2/1", "big3/1", "big4/1",
                                               "big5/1", "big0/2", "big0/3", "big0/4",
                                               "big0/5"}));
  counts.clear();
  std::vector<std::string> versions =
      page_through("/fhir/Patient/big0/_history?_count=10", &counts);
  EXPECT_EQ(counts, (std::vector<std::size_t>{4, 1}));
  EXPECT_EQ(versions, (std::vector<std::string>{"big0/5", "big0/4", "big0/3", "big0/2",
                                                "big0/1"}));
}

// Bytes that are not UTF-8, and \u escapes of lone surrogates, are refused
// with 400 naming the byte offset on every route that writes; nothing is
// stored, and the connection goes on. Valid UTF-8 is stored as sent.
TYPED_TEST_P(RefusalTest, InvalidUtf8IsRefusedOnEveryWriteRoute) {
  TestClient client = this->Writer();
  const std::string uuid = "0a9afe04-4f52-4f45-a5a3-ad6e7c5ab2d2";
  ASSERT_EQ(client.Post("/ws/rest/v1/visittype",
                        R"({"uuid":")" + uuid + R"(","name":"Clinic","retired":false})")
                .status,
            201);
  const auto before = this->AllChanges();
  struct Bad {
    std::string text;      // inside a JSON string
    std::string problem;   // after the offset
  };
  const std::vector<Bad> bads = {
      {"\xff\xfe", "(FF)"},
      {"\xc0\xaf", "(C0)"},                   // overlong '/'
      {"\xed\xa0\x80", "(ED A0 80)"},         // an encoded surrogate
      {"\xe2\x82" "x", "(E2 82 78)"},         // a sequence cut short
      {"\xf4\x90\x80\x80", "(F4 90 80 80)"},  // past U+10FFFF
  };
  auto expected = [](const std::string& body, const std::string& bad, const std::string& what) {
    return "body is not valid UTF-8 at byte " + std::to_string(body.find(bad)) + " " + what;
  };
  for (const Bad& bad : bads) {
    const std::string family = "A" + bad.text + "Z";
    const std::string patient = PatientJson("u1", family);
    const std::string message = expected(patient, bad.text, bad.problem);
    Reply put = client.Put("/fhir/Patient/u1", patient);
    EXPECT_EQ(put.status, 400) << bad.problem;
    EXPECT_EQ(put.IssueCode(), "invalid");
    EXPECT_EQ(put.Diagnostics(), message);
    Reply post = client.Post("/fhir/Patient", patient);
    EXPECT_EQ(post.status, 400) << bad.problem;
    EXPECT_EQ(post.Diagnostics(), message);
    RequestOptions gzip;
    gzip.gzip_body = true;
    Reply gzipped = client.Call("PUT", "/fhir/Patient/u1", patient, gzip);
    EXPECT_EQ(gzipped.status, 400) << bad.problem;
    EXPECT_EQ(gzipped.Diagnostics(), message);
    for (const char* type : {"batch", "transaction"}) {
      const std::string bundle = BundleOf(type, {WriteEntry("PUT", "Patient/u1", patient)});
      Reply reply = client.Post("/fhir", bundle);
      EXPECT_EQ(reply.status, 400) << type << " " << bad.problem;
      EXPECT_EQ(reply.Diagnostics(), expected(bundle, bad.text, bad.problem));
    }
    const std::string rest = R"({"uuid":"1b9afe04-4f52-4f45-a5a3-ad6e7c5ab2d2","name":")" +
                             family + R"("})";
    Reply created = client.Post("/ws/rest/v1/visittype", rest);
    EXPECT_EQ(created.status, 400) << bad.problem;
    EXPECT_EQ(RestMessage(created), expected(rest, bad.text, bad.problem));
    const std::string update = R"({"name":")" + family + R"("})";
    Reply updated = client.Post("/ws/rest/v1/visittype/" + uuid, update);
    EXPECT_EQ(updated.status, 400) << bad.problem;
    EXPECT_EQ(RestMessage(updated), expected(update, bad.text, bad.problem));
  }
  // A body cut off in the middle of a sequence.
  const std::string cut = R"({"resourceType":"Patient","id":"u1","name":[{"family":"A)" "\xe2\x82";
  Reply truncated = client.Put("/fhir/Patient/u1", cut);
  EXPECT_EQ(truncated.status, 400);
  EXPECT_EQ(truncated.Diagnostics(), expected(cut, "\xe2\x82", "(E2 82)"));
  // Escapes of lone UTF-16 surrogates decode to no character.
  for (const std::string escape : {"\\udc00", "\\ud800x", "\\uD800\\u0041"}) {
    const std::string patient = PatientJson("u1", "A" + escape);
    Reply reply = client.Put("/fhir/Patient/u1", patient);
    EXPECT_EQ(reply.status, 400) << escape;
    EXPECT_EQ(reply.Diagnostics(),
              "body has a lone UTF-16 surrogate " + escape.substr(0, 6) + " at byte " +
                  std::to_string(patient.find(escape)) +
                  " (a \\u escape of a high surrogate must be followed by one of a low "
                  "surrogate)");
  }
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_EQ(client.Get("/fhir/Patient/u1").status, 404);
  EXPECT_EQ(RestMessage(client.Get("/ws/rest/v1/visittype/" + uuid)), "");

  // The same keep-alive connection goes on, and valid UTF-8 (escaped or
  // not, a surrogate pair among them) is stored.
  Reply valid = client.Put("/fhir/Patient/u2", PatientJson("u2", "Zo\xc3\xab \xe6\x97\xa5 "
                                                                  "\xf0\x9f\x98\x80\\ud83d\\ude00"));
  ASSERT_EQ(valid.status, 201) << valid.body;
  EXPECT_EQ(std::string(client.Get("/fhir/Patient/u2").Json()["name"][0]["family"].GetString()),
            "Zo\xc3\xab \xe6\x97\xa5 \xf0\x9f\x98\x80\xf0\x9f\x98\x80");

  // A refused body and a good request pipelined on one connection: both
  // are answered.
  const std::string auth = BasicAuth(kWriter, PasswordOf(kWriter));
  const std::string bad_body = PatientJson("u3", "\xff");
  std::string both = RawExchange(
      this->env_.port(),
      "PUT /fhir/Patient/u3 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " + auth +
          "\r\nContent-Type: application/fhir+json\r\nContent-Length: " +
          std::to_string(bad_body.size()) + "\r\n\r\n" + bad_body +
          "GET /fhir/Patient/u2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
          "Authorization: " + auth + "\r\n\r\n");
  EXPECT_EQ(both.rfind("HTTP/1.1 400", 0), 0u) << both.substr(0, 200);
  EXPECT_NE(both.find("HTTP/1.1 200", 12), std::string::npos) << both;
  EXPECT_EQ(client.Get("/fhir/Patient/u3").status, 404);
}

// A well-formed type name that is not FHIR R4's is not stored, by any
// route; OpenMRS REST resource names stay allowed.
TYPED_TEST_P(RefusalTest, TypesOutsideR4AreRefused) {
  TestClient client = this->Writer();
  const auto before = this->AllChanges();
  const std::string refusal =
      "URL: resource type 'EvilType' is not a FHIR R4 resource type, nor one this node's config "
      "declares (pull.types, plugins.routes)";
  const std::string evil = R"({"resourceType":"EvilType","id":"e1"})";
  Reply put = client.Put("/fhir/EvilType/e1", evil);
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(put.Diagnostics(), refusal);
  Reply post = client.Post("/fhir/EvilType", evil);
  EXPECT_EQ(post.status, 400);
  EXPECT_EQ(post.Diagnostics(), refusal);
  Reply batch = client.Post("/fhir", BundleOf("batch", {WriteEntry("PUT", "EvilType/e1", evil),
                                                        WriteEntry("POST", "EvilType", evil)}));
  ASSERT_EQ(batch.status, 200) << batch.body;
  rapidjson::Document doc = batch.Json();
  ASSERT_EQ(EntryCount(doc), 2u);
  EXPECT_STREQ(doc["entry"][0]["response"]["status"].GetString(), "400 Bad Request");
  EXPECT_EQ(std::string(doc["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
                            .GetString()),
            "entry 0 (PUT EvilType/e1): " + refusal);
  EXPECT_EQ(std::string(doc["entry"][1]["response"]["outcome"]["issue"][0]["diagnostics"]
                            .GetString()),
            "entry 1 (POST EvilType): " + refusal);
  Reply transaction = client.Post(
      "/fhir", BundleOf("transaction", {WriteEntry("PUT", "Patient/t1", PatientJson("t1", "T")),
                                        WriteEntry("POST", "EvilType", evil)}));
  EXPECT_EQ(transaction.status, 400);
  EXPECT_EQ(transaction.Diagnostics(),
            "transaction failed, nothing was written: entry 1 (POST EvilType): " + refusal);
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_EQ(client.Get("/fhir/EvilType/e1").status, 404);
  EXPECT_EQ(client.Get("/fhir/Patient/t1").status, 404);
  Reply meta = client.Get("/fhir/metadata");
  EXPECT_EQ(meta.body.find("\"EvilType\""), std::string::npos);

  // OpenMRS REST resources keep their own names.
  Reply rest = client.Post("/ws/rest/v1/visittype",
                           R"({"uuid":"2c9afe04-4f52-4f45-a5a3-ad6e7c5ab2d2","name":"Clinic"})");
  EXPECT_EQ(rest.status, 201) << rest.body;
}

// Nesting is checked on every route before anything parses the body.
TYPED_TEST_P(RefusalTest, DeepNestingIsRefusedInBundleEntriesAndRestBodies) {
  TestClient client = this->Writer();
  const auto before = this->AllChanges();
  const std::string deep = std::string(150, '[') + std::string(150, ']');
  const std::string patient = R"({"resourceType":"Patient","id":"d1","extension":)" + deep + "}";
  const std::string bundle = BundleOf("batch", {WriteEntry("PUT", "Patient/d1", patient)});
  Reply reply = client.Post("/fhir", bundle);
  EXPECT_EQ(reply.status, 400);
  // The Bundle, its entry array, the entry, the resource: 4 levels before.
  EXPECT_EQ(reply.Diagnostics(), "body nests arrays/objects deeper than 100 levels (at byte " +
                                     std::to_string(bundle.find('[', bundle.find(deep)) + 96) +
                                     ")");
  const std::string rest = R"({"uuid":"3d9afe04-4f52-4f45-a5a3-ad6e7c5ab2d2","x":)" + deep + "}";
  Reply created = client.Post("/ws/rest/v1/visittype", rest);
  EXPECT_EQ(created.status, 400);
  EXPECT_EQ(RestMessage(created), "body nests arrays/objects deeper than 100 levels (at byte " +
                                      std::to_string(rest.find(deep) + 99) + ")");
  EXPECT_EQ(this->AllChanges(), before);
  EXPECT_EQ(client.Get("/fhir/Patient/d1").status, 404);
}

REGISTER_TYPED_TEST_SUITE_P(RefusalTest, ReadOnlyBatchPastTheAnswerCapIsRefused,
                            BatchThatWroteAnswersEntriesPastTheCapWith413,
                            PagesStopAtTheAnswerCapAndGoOn, InvalidUtf8IsRefusedOnEveryWriteRoute,
                            TypesOutsideR4AreRefused,
                            DeepNestingIsRefusedInBundleEntriesAndRestBodies);

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SERVER_REFUSAL_TESTS_H_
