// BuildSyncStatus: each state a node can be in gives its problem, in order
// of urgency, with the command that mends it.

#include "fhirsync/sync_status.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace fhirsync {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

SyncObservations Child() {
  SyncObservations o;
  o.node_dir = "/nodes/tablet-2";
  o.parent_url = "http://127.0.0.1:8080";
  o.parent_node_id = "district";
  o.now_ms = kNow;
  o.last_contact_ms = kNow - 5 * 60 * 1000;
  o.last_pull_ms = kNow - 5 * 60 * 1000;
  o.pull_lag_changes = 0;
  return o;
}

ObservedItem Dead(std::int64_t seq, const std::string& outcome, int http,
                  const std::string& message) {
  ObservedItem item;
  item.seq = seq;
  item.type = "Patient";
  item.id = "p" + std::to_string(seq);
  item.outcome = outcome;
  item.http_status = http;
  item.message = message;
  item.at_ms = kNow - 1000;
  return item;
}

TEST(SyncStatusTest, InStepNodeHasNoProblems) {
  SyncStatusReport report = BuildSyncStatus(Child());
  EXPECT_TRUE(report.in_sync);
  EXPECT_TRUE(report.problems.empty());
  ASSERT_GE(report.lines.size(), 2u);
  EXPECT_NE(report.lines[0].find("last reached 5 minutes ago"), std::string::npos)
      << report.lines[0];
  EXPECT_EQ(report.lines.back(), "Everything is in step with the parent.");
}

TEST(SyncStatusTest, DeadLettersAreGroupedByClassWithTheNewestMessage) {
  SyncObservations o = Child();
  o.dead = {Dead(4, "business-rule", 422, "stock may not go below zero"),
            Dead(9, "business-rule", 422, "birth date is in the future"),
            Dead(6, "invalid", 400, "name.family must be a string")};
  SyncStatusReport report = BuildSyncStatus(o);
  EXPECT_FALSE(report.in_sync);
  ASSERT_EQ(report.dead_letters.size(), 2u);
  EXPECT_EQ(report.dead_letters[0].outcome, "business-rule");
  EXPECT_EQ(report.dead_letters[0].count, 2);
  EXPECT_EQ(report.dead_letters[0].newest.seq, 9);
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_EQ(report.problems[0].code, "dead-letters");
  EXPECT_NE(report.problems[0].words.find("birth date is in the future"), std::string::npos);
  EXPECT_NE(report.problems[0].words.find("HTTP 422"), std::string::npos);
  EXPECT_NE(report.problems[0].command.find("fhirsync retry --dir /nodes/tablet-2 9"),
            std::string::npos)
      << report.problems[0].command;
  EXPECT_NE(report.problems[0].command.find("fhirsync discard --dir /nodes/tablet-2 9"),
            std::string::npos);
}

TEST(SyncStatusTest, AuthTroubleComesFirstAndPendingWaitsBehindIt) {
  SyncObservations o = Child();
  o.auth_trouble = "HTTP 401 unknown user or wrong password";
  o.pending = {Dead(3, "", 0, ""), Dead(5, "transient", 503, "")};
  o.open_conflicts = 1;
  o.conflict_keys = {"Patient/p2"};
  SyncStatusReport report = BuildSyncStatus(o);
  ASSERT_EQ(report.problems.size(), 3u);
  EXPECT_EQ(report.problems[0].code, "auth");
  EXPECT_NE(report.problems[0].words.find("nothing is lost"), std::string::npos);
  EXPECT_EQ(report.problems[1].code, "conflicts");
  EXPECT_NE(report.problems[1].words.find("Patient/p2"), std::string::npos);
  EXPECT_NE(report.problems[1].command.find("fhirsync conflicts resolve"), std::string::npos);
  EXPECT_EQ(report.problems[2].code, "pending");
  EXPECT_NE(report.problems[2].words.find("2 changes made here are waiting"), std::string::npos);
  EXPECT_EQ(report.problems[2].command, "fhirsync sync --dir /nodes/tablet-2 --push --once");
}

// The fix names the keys of the way this node signs in.
TEST(SyncStatusTest, TheCredentialFixNamesTheKeysOfTheAuthKind) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "parent.user / parent.password_file"},
      {"basic", "parent.user / parent.password_file"},
      {"bearer", "parent.token_file"},
      {"smart", "parent.client_id / parent.key_file"},
      {"none", "parent.auth (the parent wants credentials)"}};
  for (const auto& [kind, keys] : cases) {
    SyncObservations o = Child();
    o.parent_auth = kind;
    o.parent_refuses = "HTTP 401";
    SyncStatusReport report = BuildSyncStatus(o);
    ASSERT_FALSE(report.problems.empty());
    EXPECT_EQ(report.problems[0].code, "auth");
    const std::string& command = report.problems[0].command;
    EXPECT_EQ(command.rfind("fix " + keys, 0), 0u) << kind << ": " << command;
    EXPECT_NE(command.find(" in /nodes/tablet-2/fhirsync.json"), std::string::npos) << command;
  }
}

TEST(SyncStatusTest, PullLagAndUnreachableParentAreExplained) {
  SyncObservations o = Child();
  o.pull_lag_changes = 12;
  o.pull_lag_ms = 3 * 3600 * 1000;
  SyncStatusReport lag = BuildSyncStatus(o);
  ASSERT_EQ(lag.problems.size(), 1u);
  EXPECT_EQ(lag.problems[0].code, "pull-lag");
  EXPECT_EQ(lag.problems[0].command, "fhirsync sync --dir /nodes/tablet-2 --pull --once");
  EXPECT_NE(lag.lines[1].find("12 changes on the parent not yet here (about 3 hours behind)"),
            std::string::npos)
      << lag.lines[1];

  SyncObservations away = Child();
  away.pull_lag_changes.reset();
  away.last_contact_ms = kNow - 2 * 86400 * 1000LL;
  away.parent_unreachable = "connection refused";
  SyncStatusReport down = BuildSyncStatus(away);
  ASSERT_EQ(down.problems.size(), 1u);
  EXPECT_EQ(down.problems[0].code, "parent-unreachable");
  EXPECT_NE(down.lines[0].find("last reached 2 days ago"), std::string::npos);
}

TEST(SyncStatusTest, RefusedCredentialsAreAnAuthProblemNotAnOutage) {
  SyncObservations o = Child();
  o.pull_lag_changes.reset();
  o.parent_unreachable = "it refuses this node's credentials";
  o.parent_refuses = "HTTP 401 Unauthorized";
  SyncStatusReport report = BuildSyncStatus(o);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_EQ(report.problems[0].code, "auth");
  EXPECT_NE(report.problems[0].words.find("HTTP 401 Unauthorized"), std::string::npos);
  EXPECT_NE(report.problems[0].command.find("parent.password_file"), std::string::npos);
  // Nothing is paused: a sync both ways mends it.
  EXPECT_NE(report.problems[0].command.find("fhirsync sync --dir /nodes/tablet-2 --once"),
            std::string::npos)
      << report.problems[0].command;
  // A pause already reported covers it: one auth problem, not two.
  o.auth_trouble = "HTTP 401: wrong password";
  EXPECT_EQ(BuildSyncStatus(o).problems.size(), 1u);
}

TEST(SyncStatusTest, LagCountedUntilTimeRanOutIsALowerBound) {
  SyncObservations o = Child();
  o.pull_lag_changes = 5000;
  o.pull_lag_at_least = true;
  SyncStatusReport report = BuildSyncStatus(o);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].words.find("at least 5000 changes"), std::string::npos)
      << report.problems[0].words;
  EXPECT_NE(report.lines[1].find("at least 5000 changes"), std::string::npos) << report.lines[1];
}

TEST(SyncStatusTest, NodeWithoutParentSaysSo) {
  SyncObservations o;
  o.now_ms = kNow;
  SyncStatusReport report = BuildSyncStatus(o);
  EXPECT_FALSE(report.has_parent);
  EXPECT_TRUE(report.in_sync);
  EXPECT_NE(report.lines[0].find("no parent"), std::string::npos);
  EXPECT_EQ(DescribeAge(std::nullopt, kNow), "never");
  EXPECT_EQ(DescribeAge(kNow - 1000, kNow), "1 second ago");
}

}  // namespace
}  // namespace fhirsync
