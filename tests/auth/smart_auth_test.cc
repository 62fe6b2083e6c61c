// SMART Backend Services through net::HttpTransport (the one transport every
// call to a parent takes): the assertion a real token endpoint accepts, the
// token kept, renewed before it expires and once after a 401, and the
// refusals of keys that cannot work.

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "fhirsync/net/http_auth.h"
#include "fhirsync/net/http_transport.h"
#include "http_plugin_settings.h"
#include "support/smart_token_server.h"
#include "support/temp_dir.h"

namespace fhirsync {
namespace {

using testing::SmartTokenServer;
using testing::WriteKey;

constexpr char kClient[] = "district-7-tablet";

net::HttpTransportOptions OptionsFor(const SmartTokenServer& server, const std::string& key) {
  net::HttpTransportOptions options;
  options.host = "127.0.0.1";
  options.port = static_cast<std::uint16_t>(std::stoi(server.url().substr(17)));
  options.auth.smart.client_id = kClient;
  options.auth.smart.key_file = key;
  options.auth.smart.discovery_url = server.url();
  options.deadline_ms = 20000;
  return options;
}

net::HttpAnswer Get(net::HttpTransport& transport) {
  net::HttpRequestSpec request;
  request.method = "GET";
  request.target = "/fhir/Patient/p1";
  return transport.Exchange(request);
}

class SmartAuthTest : public ::testing::Test {
 protected:
  testing::TempDir dir_{"smart-auth"};
};

TEST_F(SmartAuthTest, AnRsaKeySignsRs384AndOneTokenServesManyRequests) {
  const std::string key = dir_.Sub("rsa.pem");
  SmartTokenServer server(kClient, WriteKey(key, "rsa"));
  net::HttpTransport transport(OptionsFor(server, key));
  for (int i = 0; i < 3; ++i) {
    net::HttpAnswer answer = Get(transport);
    ASSERT_TRUE(answer.transport.ok()) << answer.transport.message();
    EXPECT_EQ(answer.status, 200) << answer.body;
  }
  EXPECT_EQ(server.tokens_issued(), 1);
  EXPECT_EQ(server.unauthorized(), 0);
  EXPECT_EQ(server.last_algorithm(), "RS384");
  EXPECT_EQ(server.last_scope(), net::kDefaultSmartScope);
  EXPECT_TRUE(server.refusals().empty());
}

TEST_F(SmartAuthTest, AnEcP384KeySignsEs384) {
  const std::string key = dir_.Sub("ec.pem");
  SmartTokenServer server(kClient, WriteKey(key, "p384"));
  net::HttpTransportOptions options = OptionsFor(server, key);
  options.auth.smart.scope = "system/Patient.read";
  net::HttpTransport transport(options);
  net::HttpAnswer answer = Get(transport);
  ASSERT_TRUE(answer.transport.ok()) << answer.transport.message();
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(server.last_algorithm(), "ES384");
  EXPECT_EQ(server.last_scope(), "system/Patient.read");
}

TEST_F(SmartAuthTest, TransportsToOneServerShareOneToken) {
  const std::string key = dir_.Sub("rsa.pem");
  SmartTokenServer server(kClient, WriteKey(key, "rsa"));
  net::HttpTransport first(OptionsFor(server, key));
  net::HttpTransport second(OptionsFor(server, key));
  EXPECT_EQ(Get(first).status, 200);
  EXPECT_EQ(Get(second).status, 200);
  EXPECT_EQ(server.tokens_issued(), 1);
}

TEST_F(SmartAuthTest, TheTokenIsRenewedBeforeItExpires) {
  const std::string key = dir_.Sub("rsa.pem");
  SmartTokenServer server(kClient, WriteKey(key, "rsa"));
  server.set_token_lifetime_seconds(4);  // renewed with a second left
  net::HttpTransport transport(OptionsFor(server, key));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server.tokens_issued() < 3 && std::chrono::steady_clock::now() < deadline) {
    net::HttpAnswer answer = Get(transport);
    ASSERT_TRUE(answer.transport.ok()) << answer.transport.message();
    ASSERT_EQ(answer.status, 200);
    // Paces the requests (the loop ends on the tokens, not on time).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(server.tokens_issued(), 3);
  // No request ever left with a lapsed token: each was renewed in time.
  EXPECT_EQ(server.unauthorized(), 0);
  EXPECT_TRUE(server.refusals().empty());  // and every assertion had a new jti
}

TEST_F(SmartAuthTest, A401RenewsTheTokenOnceAndSendsAgain) {
  const std::string key = dir_.Sub("rsa.pem");
  SmartTokenServer server(kClient, WriteKey(key, "rsa"));
  net::HttpTransport transport(OptionsFor(server, key));
  ASSERT_EQ(Get(transport).status, 200);
  server.RevokeAll();  // the server drops the token before its time
  net::HttpAnswer answer = Get(transport);
  ASSERT_TRUE(answer.transport.ok()) << answer.transport.message();
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(server.tokens_issued(), 2);
  EXPECT_EQ(server.unauthorized(), 1);
}

TEST_F(SmartAuthTest, ASecond401GoesToTheCaller) {
  const std::string key = dir_.Sub("rsa.pem");
  SmartTokenServer server(kClient, WriteKey(key, "rsa"));
  server.set_refuse_all(true);
  net::HttpTransport transport(OptionsFor(server, key));
  net::HttpAnswer answer = Get(transport);
  ASSERT_TRUE(answer.transport.ok()) << answer.transport.message();
  EXPECT_EQ(answer.status, 401);
  EXPECT_EQ(server.resource_requests(), 2);  // the first, and one after renewing
  EXPECT_EQ(server.tokens_issued(), 2);
}

TEST_F(SmartAuthTest, AKeyTheServerDoesNotKnowIsRefusedClearly) {
  const std::string registered = dir_.Sub("registered.pem");
  const std::string other = dir_.Sub("other.pem");
  SmartTokenServer server(kClient, WriteKey(registered, "rsa"));
  ASSERT_FALSE(WriteKey(other, "rsa").empty());
  net::HttpTransport transport(OptionsFor(server, other));
  net::HttpAnswer answer = Get(transport);
  EXPECT_EQ(answer.transport.code(), StatusCode::kUnauthenticated);
  const std::string& message = answer.transport.message();
  EXPECT_NE(message.find("refused client 'district-7-tablet': HTTP 400 invalid_client"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("parent.key_file"), std::string::npos) << message;
  EXPECT_FALSE(answer.request_sent);
  EXPECT_EQ(server.resource_requests(), 0);  // nothing went out without a token
  ASSERT_EQ(server.refusals().size(), 1u);
  EXPECT_EQ(server.refusals()[0], "signature");
}

TEST_F(SmartAuthTest, KeysThatCannotSignAreRefusedBeforeAnyRequest) {
  net::SmartAuthOptions options;
  options.client_id = kClient;
  options.discovery_url = "http://127.0.0.1:1";

  options.key_file = dir_.Sub("missing.pem");
  auto made = net::SmartTokenSource::Create(options);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(made.status().message().find("cannot be read"), std::string::npos)
      << made.status().message();

  options.key_file = dir_.Sub("p256.pem");
  ASSERT_FALSE(WriteKey(options.key_file, "p256").empty());
  made = net::SmartTokenSource::Create(options);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("256-bit EC key"), std::string::npos)
      << made.status().message();
  EXPECT_NE(made.status().message().find("EC on P-384 (ES384)"), std::string::npos);

  options.key_file = dir_.Sub("public.pem");
  {
    std::ofstream out(options.key_file);
    out << WriteKey(dir_.Sub("throwaway.pem"), "rsa");  // a public key only
  }
  made = net::SmartTokenSource::Create(options);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("holds no readable PEM private key"), std::string::npos)
      << made.status().message();

  // Through a transport: every exchange fails with that error, sending
  // nothing.
  net::HttpTransportOptions transport_options;
  transport_options.host = "127.0.0.1";
  transport_options.port = 1;
  transport_options.auth.smart = options;
  net::HttpTransport transport(transport_options);
  net::HttpAnswer answer = Get(transport);
  EXPECT_EQ(answer.transport.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(answer.transport.message().find("holds no readable PEM private key"),
            std::string::npos)
      << answer.transport.message();
  EXPECT_FALSE(answer.request_sent);
}

TEST_F(SmartAuthTest, PluginSettingsTurnSchemeSmartIntoSmartAuth) {
  TransportSettings settings;
  settings.base_url = "http://127.0.0.1:9";
  settings.auth_scheme = "smart";
  settings.client_id = kClient;
  settings.key_file = "/keys/child.pem";
  settings.options[kParentCaFileOption] = "/ca.pem";
  plugins::HttpPluginSettings http;
  ASSERT_TRUE(plugins::ParseHttpPluginSettings(settings, "/fhir", 10, &http).ok());
  EXPECT_EQ(http.auth.smart.client_id, kClient);
  EXPECT_EQ(http.auth.smart.key_file, "/keys/child.pem");
  EXPECT_EQ(http.auth.smart.discovery_url, "http://127.0.0.1:9");
  EXPECT_EQ(http.auth.smart.ca_file, "/ca.pem");
  EXPECT_EQ(http.auth.smart.scope, net::kDefaultSmartScope);

  settings.client_id.clear();
  Status refused = plugins::ParseHttpPluginSettings(settings, "/fhir", 10, &http);
  EXPECT_NE(refused.message().find("needs a client id"), std::string::npos) << refused.message();
  settings.auth_scheme = "oauth";
  refused = plugins::ParseHttpPluginSettings(settings, "/fhir", 10, &http);
  EXPECT_NE(refused.message().find("not one of none, basic, bearer, smart"), std::string::npos)
      << refused.message();
}

}  // namespace
}  // namespace fhirsync
