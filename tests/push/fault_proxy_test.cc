// Tests of the test helper FaultProxy (tests/support/fault_proxy.h) against
// a scripted upstream.

#include "support/fault_proxy.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "support/scripted_http_peer.h"

namespace fhirsync::testing {
namespace {

struct Answer {
  int status = 0;
  std::string body;
  std::string error;  // set when the exchange failed
};

Answer Send(int port, const std::string& method, const std::string& path,
            const std::string& body = "") {
  Answer answer;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(2, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("If-Match", "W/\"3\"");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    answer.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, answer.body);
    if (response.hasContentLength() &&
        static_cast<std::streamsize>(answer.body.size()) != response.getContentLength()) {
      answer.error = "short body";
    }
  } catch (const Poco::Exception& error) {
    answer.error = error.displayText();
  }
  return answer;
}

TEST(FaultProxyTest, ForwardsAndInjects) {
  ScriptedPeer parent;
  parent.Route([](const RecordedRequest& r) {
    return Reply(200, "{\"seen\":\"" + r.method + " " + r.uri + "\"}");
  });
  FaultProxy proxy("127.0.0.1", parent.port());
  proxy.Add({"PUT", "/Patient/a", FaultKind::kAnswer, 422, 1, "", 0});
  proxy.Add({"PUT", "/Patient/b", FaultKind::kCutRequest, 0, 1, "", 0});
  proxy.Add({"PUT", "/Patient/c", FaultKind::kCutResponse, 0, 1, "", 0});
  proxy.Add({"PUT", "/Patient/d", FaultKind::kStall, 0, 1, "", 200});

  Answer plain = Send(proxy.port(), "GET", "/fhir/Patient/x");
  EXPECT_EQ(plain.status, 200) << plain.error;
  EXPECT_EQ(plain.body, "{\"seen\":\"GET /fhir/Patient/x\"}");

  Answer injected = Send(proxy.port(), "PUT", "/fhir/Patient/a", "{}");
  EXPECT_EQ(injected.status, 422);
  EXPECT_NE(injected.body.find("injected HTTP 422"), std::string::npos);
  // Once only: the next one is forwarded.
  EXPECT_EQ(Send(proxy.port(), "PUT", "/fhir/Patient/a", "{}").status, 200);

  Answer cut_request = Send(proxy.port(), "PUT", "/fhir/Patient/b", "{}");
  EXPECT_FALSE(cut_request.error.empty());
  Answer cut_response = Send(proxy.port(), "PUT", "/fhir/Patient/c", "{}");
  EXPECT_FALSE(cut_response.error.empty());
  Answer stalled = Send(proxy.port(), "PUT", "/fhir/Patient/d", "{}");
  EXPECT_FALSE(stalled.error.empty());

  // The parent saw the forwarded ones and the cut response, never the
  // injected answer, the cut request or the stalled one.
  std::vector<std::string> seen;
  for (const RecordedRequest& r : parent.requests()) seen.push_back(r.method + " " + r.uri);
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /fhir/Patient/x", "PUT /fhir/Patient/a",
                                            "PUT /fhir/Patient/c"}));
  EXPECT_EQ(parent.requests()[1].headers.at("If-Match"), "W/\"3\"");
  std::vector<std::string> faults;
  for (const ProxiedRequest& r : proxy.requests()) faults.push_back(r.fault);
  EXPECT_EQ(faults, (std::vector<std::string>{"", "answer", "", "cut-request", "cut-response",
                                              "stall"}));
}

TEST(FaultProxyTest, AnswersOneEntryOfABatchBundleAndForwardsTheRest) {
  ScriptedPeer parent;
  // A parent that answers each entry it got with "200 OK" and its url.
  parent.Route([](const RecordedRequest& r) {
    rapidjson::Document bundle;
    bundle.Parse(r.body.c_str());
    std::string answer = R"({"resourceType":"Bundle","type":"batch-response","entry":[)";
    for (rapidjson::SizeType i = 0; i < bundle["entry"].Size(); ++i) {
      answer += std::string(i ? "," : "") + R"({"response":{"status":"200 OK","location":")" +
                bundle["entry"][i]["request"]["url"].GetString() + "\"}}";
    }
    return Reply(200, answer + "]}");
  });
  FaultProxy proxy("127.0.0.1", parent.port());
  FaultRule rule;
  rule.method = "POST";
  rule.kind = FaultKind::kAnswerEntry;
  rule.status = 422;
  rule.path_part = "Patient/b";
  proxy.Add(rule);
  const std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"request":{"method":"DELETE","url":"Patient/a"}},
    {"request":{"method":"DELETE","url":"Patient/b"}},
    {"request":{"method":"DELETE","url":"Patient/c"}}]})";
  Answer answer = Send(proxy.port(), "POST", "/fhir", bundle);
  ASSERT_EQ(answer.status, 200) << answer.error;
  rapidjson::Document doc;
  doc.Parse(answer.body.c_str());
  ASSERT_FALSE(doc.HasParseError()) << answer.body;
  const auto& e = doc["entry"];
  ASSERT_EQ(e.Size(), 3u);
  EXPECT_STREQ(e[0]["response"]["location"].GetString(), "Patient/a");
  EXPECT_STREQ(e[1]["response"]["status"].GetString(), "422 Injected");
  EXPECT_STREQ(e[1]["response"]["outcome"]["issue"][0]["diagnostics"].GetString(),
               "injected HTTP 422");
  EXPECT_STREQ(e[2]["response"]["location"].GetString(), "Patient/c");
  // The parent never saw the answered entry.
  ASSERT_EQ(parent.requests().size(), 1u);
  EXPECT_EQ(parent.requests()[0].body.find("Patient/b"), std::string::npos);
  EXPECT_NE(parent.requests()[0].body.find("Patient/c"), std::string::npos);
  EXPECT_EQ(proxy.requests().back().fault, "answer-entry");

  // Used up: the next Bundle passes whole.
  Answer again = Send(proxy.port(), "POST", "/fhir", bundle);
  doc.Parse(again.body.c_str());
  EXPECT_STREQ(doc["entry"][1]["response"]["location"].GetString(), "Patient/b");
}

}  // namespace
}  // namespace fhirsync::testing
