// Power loss under the SQLite store: PowerLossVfs (power_loss_vfs.h) sits
// below every connection the store opens (below the WAL buffering VFS of
// the write connection too) and cuts the power at a random write or sync,
// during imports (the bulk path, several batches a call) and pulls (one
// page a transaction), the store's background checkpoints and its close.
// Each file then holds what it held at its last sync, or that with the
// pages written since torn at random (kept, lost or garbage). The store
// is opened again and must hold exactly a prefix of the transactions
// attempted, ending at a transaction's end: every one acknowledged, each
// whole, nothing of any later one; the change feed gapless and in commit
// order, each body the one written, the resource counts and the pull
// cursor those of the prefix; CheckIntegrity and SQLite's integrity_check
// clean. The store then goes on from there, so later rounds also write
// over what a crash left behind. (A WAL buffering VFS that did not write
// its buffer before a sync loses an acknowledged transaction here within
// a few rounds.)
//
// Random: the seed is printed; FHIRSYNC_TEST_SEED replays its rounds and
// cut choices. The store's checkpoint thread is not under the seed: its
// timing can move a cut to another event of a large round, and the rounds
// after it then differ, so a replay may fail in another round. FHIRSYNC_POWER_LOSS_ROUNDS=N runs exactly N rounds,
// however long they take (by default up to kRounds, within kTimeBudget).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "fhirsync/local_store.h"
#include "power_loss_vfs.h"
#include "store_test_support.h"
#include "support/test_seed.h"

namespace fhirsync::testing {
namespace {

constexpr int kRounds = 120;
// Rounds stop early past this, so that a loaded machine still ends the
// test in about a minute; at least kMinRounds run whatever the time.
constexpr auto kTimeBudget = std::chrono::seconds(40);
constexpr int kMinRounds = 50;
// A store is started afresh every kRoundsPerStore rounds, so it stays small.
constexpr int kRoundsPerStore = 8;

constexpr char kNode[] = "power-node";
constexpr char kParent[] = "power-parent";

using Key = std::pair<std::string, std::string>;  // (type, id)

// One `changes` row as the model expects it.
struct ExpectedChange {
  Key key;
  std::int64_t version = 0;
  ChangeAction action = ChangeAction::kCreate;
  bool pulled = false;
  std::string marker;  // in the body; empty for a delete
};

// One transaction: an import batch or a pull page.
struct Transaction {
  std::vector<ExpectedChange> changes;
  std::string position;  // a pull page: the cursor after it
};

// What the store holds, as the committed transactions left it.
struct ResourceState {
  std::int64_t version = 0;
  bool deleted = false;
  bool pulled = false;
  std::int64_t remote_version = 0;
};
using Model = std::map<Key, ResourceState>;

void Apply(const Transaction& transaction, Model& model, std::string& cursor) {
  for (const ExpectedChange& change : transaction.changes) {
    ResourceState& state = model[change.key];
    state.version = change.version;
    state.deleted = change.action == ChangeAction::kDelete;
    state.pulled = change.pulled;
    if (change.pulled) ++state.remote_version;
  }
  if (!transaction.position.empty()) cursor = transaction.position;
}

// One call into the store: an Import of several batches, or pull pages.
struct Call {
  bool import = false;
  std::vector<WriteOp> ops;  // import
  std::size_t batch_size = 0;
  std::vector<PullPage> pages;  // pull
  std::vector<Transaction> transactions;
};

// Makes the calls of one round, against the model as it will be.
class Workload {
 public:
  explicit Workload(std::uint64_t seed) : random_(seed) {}

  // A large round is one large import and a pull: the WAL grows past
  // WalCheckpointer's threshold, so checkpoints run beside the writer and
  // the WAL starts over while the calls run, not only in the close.
  std::vector<Call> Round(Model model, bool large) {
    std::vector<Call> calls(large ? 2 : 1 + random_() % 4);
    for (std::size_t i = 0; i < calls.size(); ++i) {
      Call& call = calls[i];
      if (large ? i == 0 : random_() % 5 < 3) {
        MakeImport(call, model, large);
      } else {
        MakePull(call, model);
      }
      std::string ignored;
      for (const Transaction& transaction : call.transactions) Apply(transaction, model, ignored);
    }
    return calls;
  }

  std::mt19937_64& random() { return random_; }

 private:
  std::string Body(const std::string& type, const std::string& id, const std::string& marker,
                   const std::string& version = "") {
    // Mostly one or two KiB; now and then past a page (overflow pages).
    const std::size_t pad = random_() % 16 == 0 ? 9000 + random_() % 12000 : 100 + random_() % 2500;
    std::string meta = version.empty() ? "" : R"("meta":{"versionId":")" + version + R"("},)";
    return R"({"resourceType":")" + type + R"(","id":")" + id + "\"," + meta +
           R"("text":{"status":"generated","div":")" + marker + " " + std::string(pad, 'x') +
           R"("}})";
  }

  // The live resources of the model, local or pulled.
  static std::vector<Key> Live(const Model& model, bool pulled) {
    std::vector<Key> live;
    for (const auto& [key, state] : model) {
      if (!state.deleted && state.pulled == pulled) live.push_back(key);
    }
    return live;
  }

  // One of `live` (removed from it when `remove`); none when it is empty.
  std::optional<Key> Pick(std::vector<Key>& live, bool remove) {
    if (live.empty()) return std::nullopt;
    const std::size_t index = random_() % live.size();
    Key key = live[index];
    if (remove) {
      live[index] = live.back();
      live.pop_back();
    }
    return key;
  }

  void MakeImport(Call& call, Model& model, bool large) {
    static const char* const kTypes[] = {"Patient", "Observation", "Encounter"};
    call.import = true;
    const std::size_t ops = large ? 2500 + random_() % 1500 : 20 + random_() % 900;
    call.batch_size = large ? 200 + random_() % 1000 : 10 + random_() % 400;
    Model working = model;
    std::string ignored;
    std::vector<Key> live = Live(model, false);
    for (std::size_t i = 0; i < ops; ++i) {
      if (i % call.batch_size == 0) call.transactions.emplace_back();
      const std::string marker = "m" + std::to_string(++marker_);
      WriteOp op;
      ExpectedChange change;
      change.marker = marker;
      const int roll = static_cast<int>(random_() % 20);
      std::optional<Key> existing = roll < 6 ? Pick(live, roll == 0) : std::nullopt;
      if (existing && roll == 0) {
        op.kind = WriteOp::Kind::kDelete;
        change.action = ChangeAction::kDelete;
        change.marker.clear();
      } else if (existing) {
        change.action = ChangeAction::kUpdate;
      } else {
        existing = Key(kTypes[random_() % 3], "L" + std::to_string(++ids_));
        change.action = ChangeAction::kCreate;
        live.push_back(*existing);
      }
      op.type = existing->first;
      op.id = existing->second;
      if (op.kind == WriteOp::Kind::kPut) op.body = Body(op.type, op.id, marker);
      change.key = *existing;
      change.version = working[*existing].version + 1;
      call.ops.push_back(std::move(op));
      Transaction one{{change}, ""};
      Apply(one, working, ignored);
      call.transactions.back().changes.push_back(std::move(change));
    }
  }

  void MakePull(Call& call, Model& model) {
    static const char* const kTypes[] = {"Patient", "Condition"};
    call.import = false;
    Model working = model;
    std::string ignored;
    std::vector<Key> live = Live(model, true);
    const int pages = 1 + static_cast<int>(random_() % 4);
    for (int p = 0; p < pages; ++p) {
      PullPage page;
      page.parent_node_id = kParent;
      page.feed = "atom";
      page.transport = "power-loss-test";
      page.position = "pos-" + std::to_string(++positions_);
      Transaction transaction;
      transaction.position = page.position;
      // A resource at most once a page: what it takes leaves `live` until
      // the page is made.
      std::vector<Key> taken;
      const int resources = 5 + static_cast<int>(random_() % 250);
      for (int r = 0; r < resources; ++r) {
        const std::string marker = "m" + std::to_string(++marker_);
        const int roll = static_cast<int>(random_() % 20);
        std::optional<Key> existing = roll < 6 ? Pick(live, true) : std::nullopt;
        if (existing && roll != 0) taken.push_back(*existing);
        PulledResource pulled;
        ExpectedChange change;
        change.pulled = true;
        change.marker = marker;
        if (existing && roll == 0) {
          pulled.deleted = true;
          change.action = ChangeAction::kDelete;
          change.marker.clear();
        } else if (existing) {
          change.action = ChangeAction::kUpdate;
        } else {
          existing = Key(kTypes[random_() % 2], "P" + std::to_string(++ids_));
          change.action = ChangeAction::kCreate;
          taken.push_back(*existing);
        }
        const ResourceState& state = working[*existing];
        pulled.type = existing->first;
        pulled.id = existing->second;
        pulled.remote_version = std::to_string(state.remote_version + 1);
        if (!pulled.deleted) {
          pulled.body = Body(pulled.type, pulled.id, marker, pulled.remote_version);
        }
        change.key = *existing;
        change.version = state.version + 1;
        page.resources.push_back(std::move(pulled));
        Transaction one{{change}, ""};
        Apply(one, working, ignored);
        transaction.changes.push_back(std::move(change));
      }
      live.insert(live.end(), taken.begin(), taken.end());
      call.pages.push_back(std::move(page));
      call.transactions.push_back(std::move(transaction));
    }
  }

  std::mt19937_64 random_;
  std::uint64_t marker_ = 0;
  std::uint64_t ids_ = 0;
  std::uint64_t positions_ = 0;
};

std::size_t ChangeCount(const std::vector<Call>& calls) {
  std::size_t n = 0;
  for (const Call& call : calls) {
    for (const Transaction& transaction : call.transactions) n += transaction.changes.size();
  }
  return n;
}

// Runs the calls until the first failure. Returns how many transactions
// were acknowledged and how many were attempted (the one that failed
// included: it may or may not have committed).
std::pair<std::size_t, std::size_t> RunCalls(LocalStore& store, const std::vector<Call>& calls) {
  std::size_t acknowledged = 0;
  for (const Call& call : calls) {
    if (call.import) {
      StatusOr<ImportSummary> imported = store.Import(call.ops, {}, call.batch_size);
      if (imported.ok()) {
        EXPECT_EQ(imported->written, static_cast<std::int64_t>(call.ops.size()));
        acknowledged += call.transactions.size();
        continue;
      }
      // "import batch K (...) was not written; N earlier entries were": the
      // batches before K were acknowledged.
      static const std::regex kEarlier("; ([0-9]+) earlier entries were");
      std::smatch match;
      const std::string message = imported.status().ToString();
      EXPECT_TRUE(std::regex_search(message, match, kEarlier)) << message;
      const std::size_t earlier = match.empty() ? 0 : std::stoul(match[1].str());
      EXPECT_EQ(earlier % call.batch_size, 0u) << message;
      acknowledged += earlier / call.batch_size;
      return {acknowledged, acknowledged + 1};
    }
    for (const PullPage& page : call.pages) {
      StatusOr<std::vector<PulledResult>> applied = store.ApplyPull(page);
      if (!applied.ok()) return {acknowledged, acknowledged + 1};
      for (const PulledResult& result : *applied) {
        EXPECT_EQ(result.outcome, PullOutcome::kApplied)
            << result.type << "/" << result.id << ": " << result.message;
      }
      ++acknowledged;
    }
  }
  return {acknowledged, acknowledged};
}

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override { PowerLossVfs::Install(); }

  StoreConfig Config() const {
    StoreConfig config;
    config.backend = "sqlite";
    config.path = dir_->path() + "/store.sqlite";
    return config;
  }

  // A fresh store: no history.
  void StartStore() {
    dir_ = std::make_unique<ScratchDir>();
    committed_.clear();
    model_.clear();
    cursor_.clear();
  }

  // Checks the reopened store against the committed transactions.
  void Verify(LocalStore& store, std::size_t first_new) {
    Status integrity = store.CheckIntegrity();
    ASSERT_TRUE(integrity.ok()) << integrity;

    // The feed: exactly the committed changes, in order, seqs 1..n.
    std::vector<const ExpectedChange*> expected;
    std::vector<std::size_t> transaction_of;  // per expected change
    for (std::size_t t = 0; t < committed_.size(); ++t) {
      for (const ExpectedChange& change : committed_[t].changes) {
        expected.push_back(&change);
        transaction_of.push_back(t);
      }
    }
    std::size_t first_new_seq = 0;
    for (std::size_t t = 0; t < first_new; ++t) first_new_seq += committed_[t].changes.size();
    ChangeQuery query;
    query.limit = 1000;
    std::size_t seen = 0;
    while (true) {
      query.after_seq = static_cast<std::int64_t>(seen);
      // Bodies only for this round's transactions, the ones a cut could tear.
      query.with_bodies = seen >= first_new_seq;
      StatusOr<std::vector<Change>> changes = store.Changes(query);
      ASSERT_TRUE(changes.ok()) << changes.status();
      if (changes->empty()) break;
      for (const Change& change : *changes) {
        ASSERT_EQ(change.seq, static_cast<std::int64_t>(seen + 1)) << "a gap in the change feed";
        ASSERT_LT(seen, expected.size())
            << "seq " << change.seq << " (" << change.resource.Key()
            << ") is past the last committed transaction";
        const ExpectedChange& want = *expected[seen];
        const std::string where = "seq " + std::to_string(change.seq) + ", transaction " +
                                  std::to_string(transaction_of[seen] + 1);
        ASSERT_EQ(change.resource.type + "/" + change.resource.id,
                  want.key.first + "/" + want.key.second)
            << where;
        EXPECT_EQ(change.resource.version, want.version) << where;
        EXPECT_EQ(change.action, want.action) << where;
        EXPECT_EQ(change.origin, want.pulled ? kParent : kNode) << where;
        if (query.with_bodies && !want.marker.empty()) {
          EXPECT_NE(change.resource.body.find("\"" + want.marker + " x"), std::string::npos)
              << where << ": the body is not the one written";
        }
        ++seen;
      }
    }
    ASSERT_EQ(seen, expected.size()) << "committed changes are missing from the feed";

    // Resources per type, live and deleted, as the model has them.
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> counts;
    for (const auto& [key, state] : model_) {
      auto& count = counts[key.first];
      (state.deleted ? count.second : count.first) += 1;
    }
    StatusOr<StoreStats> stats = store.Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> held;
    for (const TypeCount& type : stats->types) {
      if (type.live != 0 || type.deleted != 0) held[type.type] = {type.live, type.deleted};
    }
    EXPECT_EQ(held, counts);
    EXPECT_EQ(stats->last_seq, static_cast<std::int64_t>(expected.size()));

    StatusOr<std::optional<PullCursor>> cursor = store.GetCursor(kParent);
    ASSERT_TRUE(cursor.ok()) << cursor.status();
    EXPECT_EQ(*cursor ? (*cursor)->position : "", cursor_);

    // SQLite's full check, from a connection of its own.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(Config().path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    std::string result;
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) += values[0] ? values[0] : "";
          return 0;
        },
        &result, nullptr);
    sqlite3_close(db);
    EXPECT_EQ(result, "ok");
  }

  std::unique_ptr<ScratchDir> dir_;
  std::vector<Transaction> committed_;
  Model model_;
  std::string cursor_;
};

TEST_F(PowerLossTest, EveryCommittedTransactionSurvivesWholeAndNothingElse) {
  const std::uint64_t seed = TestSeed();
  SCOPED_TRACE(ReplayHint(seed));
  int rounds = kRounds;
  int min_rounds = kMinRounds;
  if (const char* given = std::getenv("FHIRSYNC_POWER_LOSS_ROUNDS")) {
    rounds = min_rounds = std::atoi(given);
    ASSERT_GE(rounds, 2) << "FHIRSYNC_POWER_LOSS_ROUNDS='" << given
                         << "' is not a number of rounds of at least 2 (two calibrate)";
  }
  Workload workload(seed);
  std::mt19937_64& random = workload.random();
  PowerLossVfs& vfs = PowerLossVfs::Install();
  const auto start = std::chrono::steady_clock::now();

  // Events of each kind a change while the calls run, in a small round and
  // in a large one, measured by rounds 0 (small) and 1 (large), which run
  // without a cut; and the events of a close (its checkpoint).
  using Event = PowerLossVfs::Event;
  constexpr Event kKinds[] = {Event::kAny, Event::kSync, Event::kDatabaseWrite,
                              Event::kWalRestart};
  double rates[2][4] = {};
  std::uint64_t close_events = 0;
  int cuts = 0, cut_in_open = 0, cut_in_calls = 0, cut_in_close = 0, torn = 0;
  std::size_t in_flight_kept = 0, in_flight_lost = 0;
  std::map<std::string, int> cut_kinds;
  int round = 0;
  for (; round < rounds; ++round) {
    if (round >= min_rounds && std::chrono::steady_clock::now() - start > kTimeBudget) break;
    SCOPED_TRACE("round " + std::to_string(round));
    if (round % kRoundsPerStore == 0) StartStore();
    const bool calibrating = round < 2;
    const bool large = calibrating ? round == 1 : random() % 10 == 0;
    const std::vector<Call> calls = workload.Round(model_, large);
    const std::size_t changes = ChangeCount(calls);
    std::size_t transactions = 0;
    for (const Call& call : calls) transactions += call.transactions.size();

    // Where the power goes off: at a random event while the calls run, at
    // one anywhere (the close's checkpoint included), at a random sync
    // (every write since the one before unsynced), in the close, or in a
    // large round at a checkpoint's write or as the WAL starts over.
    auto estimate = [&](Event kind) {
      return static_cast<std::uint64_t>(rates[large][static_cast<int>(kind)] *
                                        static_cast<double>(changes) * 1.1) + 1;
    };
    std::string where = "no cut";
    bool cut_in_close_only = false;
    auto arm = [&](Event kind, std::uint64_t n, const std::string& what) {
      vfs.CutPowerAt(kind, n);
      where = what + " " + std::to_string(n);
    };
    switch (calibrating ? -1 : static_cast<int>(random() % (large ? 6 : 4))) {
      case -1:
        vfs.CutPowerAt(Event::kAny, 0);
        break;
      case 0:
        arm(Event::kAny, 1 + random() % estimate(Event::kAny), "event");
        break;
      case 1:
        arm(Event::kAny, 1 + random() % (estimate(Event::kAny) + close_events), "event");
        break;
      case 2:
        arm(Event::kSync, 1 + random() % (estimate(Event::kSync) + 1), "sync");
        break;
      case 3:
        // Armed once the calls are done: somewhere in the close.
        vfs.CutPowerAt(Event::kAny, 0);
        cut_in_close_only = true;
        break;
      case 4:
        arm(Event::kDatabaseWrite, 1 + random() % estimate(Event::kDatabaseWrite),
            "database write");
        break;
      default:
        arm(Event::kWalRestart, 1 + random() % estimate(Event::kWalRestart), "WAL restart");
    }

    std::size_t acknowledged = 0, attempted = 0;
    bool opened = false;
    std::uint64_t calls_events = 0;
    {
      StatusOr<std::unique_ptr<LocalStore>> store = OpenLocalStore(Config(), "", kNode);
      if (store.ok()) {
        opened = true;
        std::tie(acknowledged, attempted) = RunCalls(**store, calls);
        if (cut_in_close_only) {
          arm(Event::kAny, 1 + random() % (close_events + 1), "event of the close");
        }
      }
      if (calibrating) {
        ASSERT_TRUE(store.ok()) << store.status();
        for (Event kind : kKinds) {
          rates[large][static_cast<int>(kind)] =
              static_cast<double>(vfs.count(kind)) / static_cast<double>(changes);
        }
        calls_events = vfs.count(Event::kAny);
      }
    }  // closed: the store's last checkpoint, also under the cut
    const bool cut = vfs.power_cut();
    const std::string cut_event = vfs.cut_event();
    const std::uint64_t events = vfs.count(Event::kAny);
    if (calibrating) {
      ASSERT_EQ(acknowledged, transactions) << "the calibrating rounds run without a cut";
      close_events = std::max(close_events, events - calls_events);
    }
    if (cut) {
      ++cuts;
      // "write store.sqlite-wal at 4152" counts as "write store.sqlite-wal"
      // (one at 0 apart: the header of a WAL started over).
      const std::size_t at = cut_event.find(" at ");
      ++cut_kinds[cut_event.substr(0, at == std::string::npos || cut_event.ends_with(" at 0")
                                          ? std::string::npos
                                          : at)];
      if (!opened) {
        ++cut_in_open;
      } else if (acknowledged == transactions) {
        ++cut_in_close;
      } else {
        ++cut_in_calls;
      }
    }
    // What the disk kept of the writes since each file's last sync: none,
    // all, or each page at random (some of them garbage).
    int kept_percent = 0, garbage_percent = 0;
    switch (random() % 4) {
      case 0: break;
      case 1: kept_percent = 100; break;
      default:
        kept_percent = 10 + static_cast<int>(random() % 81);
        garbage_percent = static_cast<int>(random() % 21);
        ++torn;
    }
    const std::string restored = vfs.RestoreAfterPowerCut(random, kept_percent, garbage_percent);
    SCOPED_TRACE("cut at " + where + (cut ? " (" + cut_event + ")" : " (not reached)") + ", " +
                 std::to_string(events) + " events; " + std::to_string(acknowledged) + " of " +
                 std::to_string(transactions) + " transactions acknowledged, " +
                 std::to_string(attempted) + " attempted; unsynced pages kept " +
                 std::to_string(kept_percent) + "%, garbage " + std::to_string(garbage_percent) +
                 "%: " + restored);

    StatusOr<std::unique_ptr<LocalStore>> reopened = OpenLocalStore(Config(), "", kNode);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    StatusOr<std::int64_t> last = (*reopened)->LastSeq();
    ASSERT_TRUE(last.ok()) << last.status();

    // The transactions that survived: the prefix whose end is the last seq.
    std::vector<const Transaction*> attempted_list;
    for (const Call& call : calls) {
      for (const Transaction& transaction : call.transactions) attempted_list.push_back(&transaction);
    }
    std::int64_t end = 0;
    for (const Transaction& transaction : committed_) end += transaction.changes.size();
    std::vector<std::int64_t> ends = {end};  // after 0, 1, ... of this round's transactions
    for (const Transaction* transaction : attempted_list) {
      end += transaction->changes.size();
      ends.push_back(end);
    }
    std::size_t survived = ends.size();
    for (std::size_t k = 0; k < ends.size(); ++k) {
      if (ends[k] == *last) survived = k;
    }
    ASSERT_LT(survived, ends.size())
        << "the last seq, " << *last << ", is not the end of a transaction (the store held "
        << ends.front() << " changes before this round)";
    ASSERT_GE(survived, acknowledged)
        << "an acknowledged transaction was lost: " << survived << " survived";
    ASSERT_LE(survived, attempted) << "a transaction that was never attempted is there";
    if (attempted > acknowledged) (survived > acknowledged ? in_flight_kept : in_flight_lost)++;
    const std::size_t first_new = committed_.size();
    for (std::size_t k = 0; k < survived; ++k) {
      committed_.push_back(*attempted_list[k]);
      Apply(committed_.back(), model_, cursor_);
    }
    Verify(**reopened, first_new);
    if (HasFatalFailure() || HasFailure()) return;
  }
  std::printf(
      "[  POWER   ] %d rounds (%.1f s), %d cuts (%d while opening, %d in a transaction, %d in "
      "the close), %d torn; the transaction in flight kept %zu times, lost %zu times; "
      "%.2f events a change (%.2f in a large round), %llu in a close\n",
      round,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), cuts,
      cut_in_open, cut_in_calls, cut_in_close, torn, in_flight_kept, in_flight_lost,
      rates[0][0], rates[1][0], static_cast<unsigned long long>(close_events));
  std::string kinds;
  for (const auto& [kind, count] : cut_kinds) {
    kinds += (kinds.empty() ? "" : ", ") + kind + ": " + std::to_string(count);
  }
  std::printf("[  POWER   ] cut at: %s\n", kinds.c_str());
  EXPECT_GE(round, min_rounds);
  // The cuts came, and not only where nothing was in flight.
  EXPECT_GE(cuts, round / 3);
  EXPECT_GT(in_flight_kept + in_flight_lost, 0u);
}

}  // namespace
}  // namespace fhirsync::testing
