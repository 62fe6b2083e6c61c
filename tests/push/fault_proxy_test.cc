// Tests of the test helper FaultProxy (tests/support/fault_proxy.h) against
// a scripted upstream.

#include "support/fault_proxy.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fhirsync::testing
