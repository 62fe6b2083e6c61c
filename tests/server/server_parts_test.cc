// Unit tests of the server's internal parts, without sockets.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "fhirsync/base/json_depth.h"
#include "fake_store.h"
#include "fhirsync/credentials.h"
#include "server/access_log.h"
#include "server/auth.h"
#include "server/login_throttle.h"
#include "server/fhir_ops.h"
#include "server/gzip.h"
#include "server/request_target.h"
#include "server/response_cap.h"
#include "server/router.h"
#include "server/search_params.h"
#include "support/temp_dir.h"
#include "test_client.h"

namespace fhirsync::server {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(GzipTest, RoundTripsAndRefusesTruncationAndBombs) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + "\n";
  std::string zipped = GzipCompress(text);
  EXPECT_LT(zipped.size(), text.size());
  auto back = GzipDecompress(zipped, 1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text);
  // Every cut of the stream is refused, wherever it falls.
  for (std::size_t cut = 1; cut < zipped.size(); cut += 7) {
    auto cut_short = GzipDecompress(zipped.substr(0, cut), 1 << 20);
    EXPECT_EQ(cut_short.status().code(), StatusCode::kInvalidArgument) << "cut " << cut;
    EXPECT_NE(cut_short.status().message().find("truncated"), std::string::npos);
  }
  auto bomb = GzipDecompress(zipped, 1000);
  EXPECT_EQ(bomb.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(bomb.status().message().find("cap of 1000 bytes"), std::string::npos);
  auto junk = GzipDecompress("this is not gzip at all", 1000);
  EXPECT_EQ(junk.status().code(), StatusCode::kInvalidArgument);
}

TEST(GzipTest, AcceptEncoding) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, gzip;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("deflate, br"));
  EXPECT_FALSE(AcceptsGzip(""));
}

TEST(IfMatchTest, ParsesWeakStrongAndBareVersions) {
  std::string weak = "W/\"3\"", strong = "\"4\"", bare = "5", junk = "W/\"x\"";
  EXPECT_EQ(**ParseIfMatch(&weak), 3);
  EXPECT_EQ(**ParseIfMatch(&strong), 4);
  EXPECT_EQ(**ParseIfMatch(&bare), 5);
  EXPECT_FALSE(ParseIfMatch(nullptr)->has_value());
  auto bad = ParseIfMatch(&junk);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("is not a version"), std::string::npos);
}

TEST(SearchParamsTest, InstantRangesFollowPrecision) {
  auto year = InstantRange("2024");
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(year->second - year->first, 366LL * 86400000);  // a leap year
  auto month = InstantRange("2023-02");
  EXPECT_EQ(month->second - month->first, 28LL * 86400000);
  auto day = InstantRange("2023-12-31");
  EXPECT_EQ(day->second - day->first, 86400000);
  auto second = InstantRange("2023-12-31T10:00:00Z");
  EXPECT_EQ(second->second - second->first, 1000);
  EXPECT_EQ(InstantRange("soon").status().code(), StatusCode::kInvalidArgument);

  auto q = ParseSearchParams("Patient", {{"_lastUpdated", "ge2023-01-01"},
                                         {"_lastUpdated", "lt2023-02-01"}});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->updated_to_ms - *q->updated_from_ms, 31LL * 86400000);
  auto bad_prefix = ParseSearchParams("Patient", {{"_lastUpdated", "ne2023"}});
  EXPECT_NE(bad_prefix.status().message().find("prefix 'ne'"), std::string::npos);
  auto hostile = ParseSearchParams("Patient", {{"_id", "a,../b"}});
  EXPECT_EQ(hostile.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(hostile.status().message().find("_id"), std::string::npos);
}

TEST(RequestTargetTest, DecodesSegmentsAfterSplitting) {
  HttpRequest request;
  ASSERT_TRUE(ParseRequestTarget("/fhir/Patient/a%2Fb?_id=x%2Cy&_count=2", &request).ok());
  EXPECT_EQ(request.segments, (std::vector<std::string>{"fhir", "Patient", "a/b"}));
  ASSERT_EQ(request.query.size(), 2u);
  EXPECT_EQ(request.query[0].second, "x,y");
  Status bad = ParseRequestTarget("/fhir/%zz", &request);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("malformed"), std::string::npos);
  Status huge = ParseRequestTarget("/" + std::string(9000, 'a'), &request);
  EXPECT_NE(huge.message().find("over the limit"), std::string::npos);
}

StatusOr<Identity> Auth(Authenticator& auth, const std::string* header,
                        const std::string& address = "192.0.2.1") {
  Authenticator::Attempt attempt;
  return auth.Authenticate(header, address, &attempt);
}

TEST(AuthenticatorTest, BasicBearerAndRoles) {
  ServerConfig config;
  config.users.push_back(*MakeUser("ann", "ann-pw", {"read"}));
  auto token = IssueToken("bot", {"write"});
  config.tokens.push_back(token->config);
  Authenticator auth(config);
  std::string basic = testing::BasicAuth("ann", "ann-pw");
  auto ann = Auth(auth, &basic);
  ASSERT_TRUE(ann.ok()) << ann.status();
  EXPECT_EQ(ann->name, "ann");
  EXPECT_TRUE(Authenticator::Authorize(*ann, Role::kRead).ok());
  Status denied = Authenticator::Authorize(*ann, Role::kWrite);
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("'ann' lacks the write role"), std::string::npos);
  auto again = Auth(auth, &basic);  // from the cache
  ASSERT_TRUE(again.ok());

  std::string wrong = testing::BasicAuth("ann", "ann-pX");
  EXPECT_EQ(Auth(auth, &wrong).status().code(), StatusCode::kUnauthenticated);
  std::string nobody = testing::BasicAuth("bob", "ann-pw");
  EXPECT_NE(Auth(auth, &nobody).status().message().find("unknown user or wrong password"),
            std::string::npos);
  std::string bearer = testing::BearerAuth(token->token);
  auto bot = Auth(auth, &bearer);
  ASSERT_TRUE(bot.ok());
  EXPECT_TRUE(bot->Has(Role::kWrite));
  EXPECT_FALSE(bot->Has(Role::kRead));
  std::string digest = "Digest username=ann";
  EXPECT_NE(Auth(auth, &digest).status().message().find("unsupported authorization scheme"),
            std::string::npos);
  EXPECT_NE(Auth(auth, nullptr).status().message().find("credentials required"),
            std::string::npos);
}


// A known answer (RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd",
// S="salt", c=1): the rounds stored with a user are the rounds used.
TEST(CredentialsTest, CheckPasswordUsesTheUsersOwnRounds) {
  UserConfig user;
  user.name = "legacy";
  user.salt = "73616c74";  // "salt"
  user.iterations = 1;
  user.password_hash = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc";
  EXPECT_TRUE(CheckPassword(user, "passwd"));
  EXPECT_FALSE(CheckPassword(user, "passwe"));
  user.iterations = 2;
  EXPECT_FALSE(CheckPassword(user, "passwd"));
  user.iterations = 0;
  EXPECT_FALSE(CheckPassword(user, "passwd"));

  auto fresh = MakeUser("new", "pw", {"read"});
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->iterations, 600000);
  EXPECT_TRUE(CheckPassword(*fresh, "pw"));
}

// A file written before users kept their rounds still loads, at 60,000.
TEST(CredentialsTest, AConfigWithoutIterationsMeansTheOldRounds) {
  testing::TempDir tmp("fhirsync-iterations");
  NodeConfig config;
  config.node_id = "n";
  UserConfig user = *MakeUser("ann", "pw", {"read"});
  config.server.users.push_back(user);
  ASSERT_TRUE(SaveNodeConfig(tmp.path(), config).ok());
  std::string text = ReadFile(tmp.path() + "/fhirsync.json");
  const std::string key = "\"iterations\": 600000,";
  ASSERT_NE(text.find(key), std::string::npos) << text;
  text.erase(text.find(key), key.size());
  WriteFile(tmp.path() + "/fhirsync.json", text);
  StatusOr<NodeConfig> loaded = LoadNodeConfig(tmp.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->server.users.at(0).iterations, 60000);
}

TEST(AuthenticatorTest, FailedLoginsOfOnePairAreThrottled) {
  ServerConfig config;
  config.users.push_back(*MakeUser("ann", "ann-pw", {"read"}));
  config.users.push_back(*MakeUser("bea", "bea-pw", {"read"}));
  Authenticator auth(config);
  const std::string wrong = testing::BasicAuth("ann", "guess");
  const std::string right = testing::BasicAuth("ann", "ann-pw");
  Authenticator::Attempt attempt;
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(auth.Authenticate(&wrong, "192.0.2.7", &attempt).ok());
    EXPECT_EQ(attempt.retry_after_seconds, 0) << i;
    EXPECT_EQ(attempt.user, "ann");
  }
  auto fifth = auth.Authenticate(&wrong, "192.0.2.7", &attempt);
  EXPECT_EQ(attempt.retry_after_seconds, 1);
  EXPECT_NE(fifth.status().message().find("5 failures in a row"), std::string::npos)
      << fifth.status();
  // Now even the right password waits, from that address...
  auto waiting = auth.Authenticate(&right, "192.0.2.7", &attempt);
  EXPECT_FALSE(waiting.ok());
  EXPECT_GE(attempt.retry_after_seconds, 1);
  EXPECT_NE(waiting.status().message().find("too many failed logins for 'ann' from 192.0.2.7"),
            std::string::npos)
      << waiting.status();
  // ...but not from another address, nor for another user.
  EXPECT_TRUE(auth.Authenticate(&right, "192.0.2.8", &attempt).ok());
  const std::string bea = testing::BasicAuth("bea", "bea-pw");
  EXPECT_TRUE(auth.Authenticate(&bea, "192.0.2.7", &attempt).ok());
}

TEST(LoginThrottleTest, WaitsDoubleUpToTheCapAndSuccessClears) {
  LoginThrottle::Options options;
  options.free_failures = 2;
  options.first_wait = std::chrono::seconds(1);
  options.max_wait = std::chrono::seconds(8);
  options.forget_after = std::chrono::seconds(100);
  LoginThrottle throttle(options);
  auto t = LoginThrottle::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(throttle.RecordFailure("u", "a", t), 1);
  EXPECT_EQ(throttle.RetryAfterSeconds("u", "a", t), 0);
  throttle.RecordFailure("u", "a", t);
  EXPECT_EQ(throttle.RetryAfterSeconds("u", "a", t), 1);
  std::int64_t expected[] = {2, 4, 8, 8};
  for (std::int64_t wait : expected) {
    t += std::chrono::seconds(10);
    EXPECT_EQ(throttle.RetryAfterSeconds("u", "a", t), 0);
    throttle.RecordFailure("u", "a", t);
    EXPECT_EQ(throttle.RetryAfterSeconds("u", "a", t), wait);
  }
  EXPECT_EQ(throttle.RetryAfterSeconds("u", "b", t), 0);
  throttle.RecordSuccess("u", "a");
  EXPECT_EQ(throttle.RetryAfterSeconds("u", "a", t), 0);
  // A long quiet spell forgets the count.
  throttle.RecordFailure("v", "a", t);
  throttle.RecordFailure("v", "a", t);
  t += std::chrono::seconds(200);
  EXPECT_EQ(throttle.RecordFailure("v", "a", t), 1);
}

TEST(LoginThrottleTest, MemoryStaysBoundedUnderAFloodOfPairs) {
  LoginThrottle::Options options;
  options.max_pairs = 100;
  LoginThrottle throttle(options);
  auto t = LoginThrottle::Clock::now();
  for (int i = 0; i < 10000; ++i) {
    throttle.RecordFailure("user" + std::to_string(i), "addr", t + std::chrono::milliseconds(i));
  }
  // The newest pair is remembered; the oldest were dropped.
  EXPECT_EQ(throttle.RecordFailure("user9999", "addr", t + std::chrono::seconds(20)), 2);
  EXPECT_EQ(throttle.RecordFailure("user0", "addr", t + std::chrono::seconds(20)), 1);
}

TEST(AuthenticatorTest, UsersAreReloadedWhenTheFileChanges) {
  testing::TempDir tmp("fhirsync-reload");
  NodeConfig config;
  config.node_id = "n";
  config.server.users.push_back(*MakeUser("ann", "ann-pw", {"read"}));
  ASSERT_TRUE(SaveNodeConfig(tmp.path(), config).ok());
  Authenticator::Options options;
  options.reload_dir = tmp.path();
  std::vector<std::string> warnings;
  options.warn = [&warnings](std::string_view line) { warnings.emplace_back(line); };
  Authenticator auth(config.server, options);
  const std::string ann = testing::BasicAuth("ann", "ann-pw");
  ASSERT_TRUE(Auth(auth, &ann).ok());

  // ann removed, bea added: within a second, the cache notwithstanding.
  config.server.users = {*MakeUser("bea", "bea-pw", {"write"})};
  ASSERT_TRUE(SaveNodeConfig(tmp.path(), config).ok());
  const std::string bea = testing::BasicAuth("bea", "bea-pw");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (Auth(auth, &ann).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Auth(auth, &ann).ok());
  EXPECT_TRUE(Auth(auth, &bea).ok());

  // A broken file keeps the users in force, and says so.
  WriteFile(tmp.path() + "/fhirsync.json", "{ not json");
  const auto later = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (warnings.empty() && std::chrono::steady_clock::now() < later) {
    ASSERT_TRUE(Auth(auth, &bea).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("users not reloaded"), std::string::npos) << warnings[0];
  EXPECT_TRUE(Auth(auth, &bea).ok());
}

TEST(AccessLogTest, TextAndJsonLinesCarryEveryFieldAndNoQuery) {
  AccessRecord record;
  record.time = std::chrono::system_clock::time_point{} + std::chrono::seconds(1796630400);
  record.client = "192.0.2.1";
  record.user = "ann";
  record.method = "GET";
  record.target = "/fhir/Patient?name=Okafor\nforged";
  record.status = 200;
  record.bytes = 512;
  record.duration_ms = 1.25;
  const std::string text = FormatAccessLine(record, AccessLogFormat::kText);
  EXPECT_EQ(text, "2026-12-07T08:00:00.000000Z 192.0.2.1 ann GET /fhir/Patient 200 512 1.2ms")
      << text;
  record.target = "/fhir/a\nb";
  record.user.clear();
  const std::string escaped = FormatAccessLine(record, AccessLogFormat::kText);
  EXPECT_EQ(escaped.find('\n'), std::string::npos) << escaped;
  EXPECT_NE(escaped.find(" - GET "), std::string::npos) << escaped;
  rapidjson::Document doc;
  doc.Parse(FormatAccessLine(record, AccessLogFormat::kJson).c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["path"].GetString(), "/fhir/a\nb");
  EXPECT_STREQ(doc["user"].GetString(), "-");
  EXPECT_EQ(doc["status"].GetInt(), 200);
  EXPECT_EQ(doc["bytes"].GetUint64(), 512u);
  EXPECT_DOUBLE_EQ(doc["duration_ms"].GetDouble(), 1.25);
  EXPECT_STREQ(doc["time"].GetString(), "2026-12-07T08:00:00.000000Z");
}

TEST(RouterTest, UnknownPathsAndMethods) {
  testing::FakeStore store;
  ServerContext context;
  context.store = &store;
  context.config.feed_page_size = 5;
  HttpRequest request;
  request.method = "GET";
  request.segments = {"admin", "secret"};
  HttpResponse response = Dispatch(context, request);
  EXPECT_EQ(response.status, 404);
  EXPECT_NE(response.body.find("no endpoint at '/admin/secret'"), std::string::npos);
  request.method = "DELETE";
  request.segments = {"fhir", "metadata"};
  response = Dispatch(context, request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(*response.Header("Allow"), "GET");
  request.method = "GET";
  request.segments = {"fhir", "Patient", "p", "_history", "0"};
  response = Dispatch(context, request);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("not a version number"), std::string::npos);
}

}  // namespace
}  // namespace fhirsync::server

namespace fhirsync::server {
namespace {

TEST(JsonTextTest, RefusesWhatIsNotUtf8AndLoneSurrogates) {
  // Every well-formed sequence length, and a surrogate pair escaped.
  EXPECT_TRUE(CheckJsonText("{\"a\":\"\x24 \xc2\xa2 \xe2\x82\xac \xf0\x90\x8d\x88 "
                            "\xef\xbf\xbf \xf4\x8f\xbf\xbf \\ud83d\\ude00\"}")
                  .ok());
  // Escapes that are not surrogates, and a backslash before "u" escaped.
  EXPECT_TRUE(CheckJsonText(R"({"a":"\u0041\uFFFD\\udc00"})").ok());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"a\":\"\x80\"}", "body is not valid UTF-8 at byte 6 (80)"},
      {"{\"a\":\"\xc1\xbf\"}", "body is not valid UTF-8 at byte 6 (C1)"},
      {"{\"a\":\"\xe0\x80\xaf\"}", "body is not valid UTF-8 at byte 6 (E0 80 AF)"},
      {"{\"a\":\"\xed\xbf\xbf\"}", "body is not valid UTF-8 at byte 6 (ED BF BF)"},
      {"{\"a\":\"\xf0\x80\x80\xaf\"}", "body is not valid UTF-8 at byte 6 (F0 80 80 AF)"},
      {"{\"a\":\"\xf5\x80\x80\x80\"}", "body is not valid UTF-8 at byte 6 (F5)"},
      {"{\"a\":1}\xf0\x9f", "body is not valid UTF-8 at byte 7 (F0 9F)"},
      {"\xfe{}", "body is not valid UTF-8 at byte 0 (FE)"},
  };
  for (const auto& [text, message] : bad) {
    Status status = CheckJsonText(text);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(status.message(), message);
  }
  Status lone = CheckJsonText(R"({"a":"x\uDBFF"})");
  EXPECT_EQ(lone.message(),
            "body has a lone UTF-16 surrogate \\uDBFF at byte 7 (a \\u escape of a high "
            "surrogate must be followed by one of a low surrogate)");
  // The depth check is the same pass.
  EXPECT_NE(CheckJsonText("[[[[1]]]]", 3).message().find("deeper than 3 levels"),
            std::string::npos);
  // The depth check alone lets any byte through.
  EXPECT_TRUE(CheckJsonDepth("{\"a\":\"\xff\"}").ok());
}

TEST(ResponseCapTest, PagesHoldWhatFitsAndAtLeastOneEntry) {
  const std::vector<std::size_t> sizes = {1000, 1000, 1000, 5000};
  auto size_of = [&](std::size_t i) { return sizes[i]; };
  const std::size_t entry = kPageEntryFramingBytes;
  EXPECT_EQ(EntriesWithinCap(4, size_of, 100, 100 + 4 * entry + 8000), 4u);
  EXPECT_EQ(EntriesWithinCap(4, size_of, 100, 100 + 4 * entry + 7999), 3u);
  EXPECT_EQ(EntriesWithinCap(4, size_of, 100, 100 + 2 * entry + 2000), 2u);
  EXPECT_EQ(EntriesWithinCap(4, size_of, 100, 10), 1u);  // one, whatever the cap
  EXPECT_EQ(EntriesWithinCap(0, size_of, 100, 10), 0u);
  EXPECT_TRUE(FitsResponseCap(10, 90, 100));
  EXPECT_FALSE(FitsResponseCap(11, 90, 100));
  EXPECT_FALSE(FitsResponseCap(0, 101, 100));
  EXPECT_EQ(OverResponseCapError("the page", 65536).message(),
            "the page would pass the answer size cap of 65536 bytes (server.max_response_bytes)");
}

}  // namespace
}  // namespace fhirsync::server
