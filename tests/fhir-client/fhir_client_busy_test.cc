// A parent shedding load answers 503 with Retry-After before it
// acts on the request; the client's transport waits that long and asks
// again (bounded in count, in each wait and by the request's deadline),
// so a busy morning does not fail a child's sync. What is not such an
// answer is returned at once.

#include <gtest/gtest.h>

#include <string>

#include "fhirsync/fhir/fhir_client.h"
#include "support/scripted_http_peer.h"

namespace fhirsync::fhir {
namespace {

using ::fhirsync::testing::Reply;
using ::fhirsync::testing::ScriptedPeer;

constexpr char kPatient[] = R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"3"}})";

FhirClientOptions Options(const ScriptedPeer& peer) {
  FhirClientOptions options;
  options.base_url = peer.base_url();
  options.io_timeout_ms = 5000;
  return options;
}

Reply Busy(int status, const std::string& retry_after) {
  return Reply(status, R"({"resourceType":"OperationOutcome","issue":[]})",
               {{"Retry-After", retry_after}});
}

TEST(FhirClientBusyTest, A503WithRetryAfterIsAskedAgainAfterTheWait) {
  ScriptedPeer peer;
  peer.Push(Busy(503, "1"));
  peer.Push(Busy(503, "0"));
  peer.Push(Reply(200, kPatient, {{"ETag", "W/\"3\""}}));
  FhirClient client(Options(peer));
  FhirResult result = client.Read("Patient", "p1");
  EXPECT_TRUE(result.ok()) << result.status.ToString();
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.version_id, "3");
  EXPECT_EQ(peer.requests().size(), 3u);
}

TEST(FhirClientBusyTest, AWriteIsAskedAgainToo) {
  // Such an answer comes before the server acts, so a write is not
  // ambiguous and may be sent again.
  ScriptedPeer peer;
  peer.Push(Busy(503, "0"));
  peer.Push(Reply(200, kPatient, {{"ETag", "W/\"4\""}}));
  FhirClient client(Options(peer));
  FhirResult result = client.Update("Patient", "p1", kPatient, "3");
  EXPECT_TRUE(result.ok()) << result.status.ToString();
  EXPECT_FALSE(result.ambiguous);
  ASSERT_EQ(peer.requests().size(), 2u);
  EXPECT_EQ(peer.requests()[0].body, peer.requests()[1].body);
}

TEST(FhirClientBusyTest, WithoutAUsableRetryAfterTheAnswerIsReturnedAtOnce) {
  for (const std::string& retry_after : {std::string(), std::string("soon"), std::string("-1"),
                                         std::string("31"), std::string("3600"),
                                         std::string("Wed, 21 Oct 2026 07:28:00 GMT")}) {
    ScriptedPeer peer;
    peer.Push(retry_after.empty() ? Reply(503, "{}") : Busy(503, retry_after));
    FhirClient client(Options(peer));
    FhirResult result = client.Read("Patient", "p1");
    EXPECT_FALSE(result.ok()) << retry_after;
    EXPECT_EQ(result.http_status, 503) << retry_after;
    EXPECT_EQ(peer.requests().size(), 1u) << "Retry-After: " << retry_after;
  }
  // Other statuses are never asked again, Retry-After or not: not a 429
  // either, which a parent gives a client whose logins keep failing.
  for (int status : {429, 500}) {
    ScriptedPeer peer;
    peer.Push(Busy(status, "0"));
    FhirClient client(Options(peer));
    EXPECT_EQ(client.Read("Patient", "p1").http_status, status);
    EXPECT_EQ(peer.requests().size(), 1u) << status;
  }
}

TEST(FhirClientBusyTest, TheWaitsGrowAndStopAtTheRequestsDeadline) {
  // Retry-After: 0 each time; the client still waits 0.5-0.75 s, then
  // 1-1.5 s, 2-3 s, 4-6 s: with a 6 s deadline the fourth wait no longer
  // fits, so exactly four requests are made.
  ScriptedPeer peer;
  peer.Route([](const auto&) { return Busy(503, "0"); });
  FhirClientOptions options = Options(peer);
  options.request_deadline_ms = 6000;
  FhirClient client(options);
  FhirResult result = client.Read("Patient", "p1");
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(peer.requests().size(), 4u);

  // A wait the server asks for that would pass the deadline is not taken.
  ScriptedPeer slow;
  slow.Route([](const auto&) { return Busy(503, "5"); });
  options = Options(slow);
  options.request_deadline_ms = 2000;
  FhirClient bounded(options);
  EXPECT_EQ(bounded.Read("Patient", "p1").http_status, 503);
  EXPECT_EQ(slow.requests().size(), 1u);
}

}  // namespace
}  // namespace fhirsync::fhir
