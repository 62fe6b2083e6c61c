// Every client that talks to a parent (the identity check, verify's digest
// peer, the Atom page fetcher, the FHIR client, the OpenMRS REST client)
// sends the SMART token its settings ask for: they all build on the one
// transport, and share one token.

#include <string>

#include <gtest/gtest.h>

#include "fhirsync/digest.h"
#include "fhirsync/feed/http_page_fetcher.h"
#include "fhirsync/fhir/fhir_client.h"
#include "fhirsync/net/http_auth.h"
#include "fhirsync/parent_identity.h"
#include "fhirsync/rest/openmrs_rest_client.h"
#include "support/smart_token_server.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

TEST(SmartPathsTest, EveryPathToTheParentSendsTheToken) {
  testing::TempDir dir("smart-paths");
  const std::string key = dir.Sub("child.pem");
  testing::SmartTokenServer server("tablet-1", testing::WriteKey(key, "p384"));

  TransportSettings settings;
  settings.base_url = server.url();
  settings.auth_scheme = "smart";
  settings.client_id = "tablet-1";
  settings.key_file = key;
  StatusOr<net::HttpAuth> auth = net::HttpAuthFor(settings, 10000, 20000);
  ASSERT_TRUE(auth.ok()) << auth.status().message();

  ParentEndpoint parent;
  parent.url = server.url();
  parent.auth = *auth;
  // The server is no fhirsync node: it answers the authorised request
  // without naming itself.
  StatusOr<std::string> node_id = FetchParentNodeId(parent);
  ASSERT_TRUE(node_id.ok()) << node_id.status().message();
  EXPECT_EQ(*node_id, "");
  EXPECT_EQ(server.resource_requests(), 1);

  StatusOr<std::unique_ptr<DigestPeer>> peer = MakeHttpDigestPeer(parent);
  ASSERT_TRUE(peer.ok()) << peer.status().message();
  (void)(*peer)->TypeDigests();  // {"ok":true} is no digest; only the request counts
  EXPECT_EQ(server.resource_requests(), 2);

  feed::HttpPageFetcherOptions fetch;
  fetch.parent_url = server.url();
  fetch.smart = auth->smart;
  feed::HttpPageFetcher fetcher(fetch);
  std::string page;
  Status fetched = fetcher.Fetch(server.url() + "/feed/recent", [&page](std::string_view chunk) {
    page.append(chunk);
    return Status::Ok();
  });
  EXPECT_TRUE(fetched.ok()) << fetched.message();
  EXPECT_EQ(page, "{\"ok\":true}");

  fhir::FhirClientOptions fhir_options;
  fhir_options.base_url = server.url() + "/fhir";
  fhir_options.smart = auth->smart;
  fhir::FhirClient fhir_client(fhir_options);
  (void)fhir_client.Read("Patient", "p1");
  EXPECT_EQ(server.resource_requests(), 4);

  rest::RestClientOptions rest_options;
  rest_options.base_url = server.url() + "/ws/rest/v1";
  rest_options.smart = auth->smart;
  rest::OpenmrsRestClient rest_client(rest_options);
  (void)rest_client.Get("patient", "a65fc361-f6ac-40ba-8485-94749c061509",
                        rest::Representation::kFull);
  EXPECT_EQ(server.resource_requests(), 5);

  EXPECT_EQ(server.unauthorized(), 0);  // every one carried a live token
  EXPECT_EQ(server.tokens_issued(), 1);  // the same one
  EXPECT_EQ(server.last_algorithm(), "ES384");
}

}  // namespace
}  // namespace fhirsync
