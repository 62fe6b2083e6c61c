// Reads on the store's pool of read sessions (store/read_session_pool.h):
// the pool itself, and on both backends that concurrent reads see every
// committed write, run beside an open write transaction, and that the
// prepared Get never keeps an old snapshot.

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fhirsync/config.h"
#include "fhirsync/local_store.h"
#include "store/read_session_pool.h"
#include "store_test_support.h"

namespace fhirsync {
namespace {

using ::testing::HasSubstr;
using store::ReadSessionPool;

constexpr auto kDeadline = std::chrono::seconds(20);

// ---- ReadSessionPool on in-memory SQLite sessions -------------------------

class CountingFactory {
 public:
  // Fails (throws) from the `fail_from`-th call on (1-based; 0 = never).
  explicit CountingFactory(int fail_from = 0) : fail_from_(fail_from) {
    Poco::Data::SQLite::Connector::registerConnector();
  }
  ReadSessionPool::Factory Make() {
    return [this] {
      int call = ++calls_;
      if (fail_from_ != 0 && call >= fail_from_) {
        throw Poco::IOException("connection refused for session " + std::to_string(call));
      }
      return Poco::Data::Session(Poco::Data::SQLite::Connector::KEY, ":memory:");
    };
  }
  int calls() const { return calls_.load(); }

 private:
  int fail_from_;
  std::atomic<int> calls_{0};
};

struct Marker : ReadSessionPool::SessionState {
  explicit Marker(int value) : value(value) {}
  int value;
};

TEST(ReadSessionPoolTest, MakesTheFirstSessionAtOnceAndMoreOnlyWhenAllAreLent) {
  CountingFactory factory;
  ReadSessionPool pool(factory.Make(), 3);
  EXPECT_EQ(factory.calls(), 1);
  EXPECT_EQ(pool.size(), 1u);
  {
    ReadSessionPool::Lease first = pool.Acquire();
    EXPECT_EQ(pool.size(), 1u);
    ReadSessionPool::Lease second = pool.Acquire();
    EXPECT_EQ(pool.size(), 2u);
    EXPECT_NE(&first.session(), &second.session());
  }
  // Both came back: no new session is made for the next two.
  ReadSessionPool::Lease a = pool.Acquire();
  ReadSessionPool::Lease b = pool.Acquire();
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(factory.calls(), 2);
}

TEST(ReadSessionPoolTest, StateStaysWithItsSession) {
  CountingFactory factory;
  ReadSessionPool pool(factory.Make(), 1);
  Poco::Data::Session* session = nullptr;
  {
    ReadSessionPool::Lease lease = pool.Acquire();
    session = &lease.session();
    EXPECT_EQ(lease.state(), nullptr);
    lease.state() = std::make_unique<Marker>(42);
  }
  ReadSessionPool::Lease again = pool.Acquire();
  EXPECT_EQ(&again.session(), session);
  auto* marker = dynamic_cast<Marker*>(again.state().get());
  ASSERT_NE(marker, nullptr);
  EXPECT_EQ(marker->value, 42);
}

TEST(ReadSessionPoolTest, AcquireWaitsWhenTheMaximumIsLent) {
  CountingFactory factory;
  ReadSessionPool pool(factory.Make(), 1);
  auto held = std::make_unique<ReadSessionPool::Lease>(pool.Acquire());
  std::atomic<bool> got{false};
  auto waiter = std::async(std::launch::async, [&] {
    ReadSessionPool::Lease lease = pool.Acquire();
    got = true;
  });
  // Still waiting while the only session is lent.
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_FALSE(got.load());
  held.reset();
  ASSERT_EQ(waiter.wait_for(kDeadline), std::future_status::ready);
  EXPECT_TRUE(got.load());
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(factory.calls(), 1);
}

TEST(ReadSessionPoolTest, AFailedExtraSessionMeansWaitingNotFailing) {
  CountingFactory factory(/*fail_from=*/2);
  ReadSessionPool pool(factory.Make(), 4);
  auto held = std::make_unique<ReadSessionPool::Lease>(pool.Acquire());
  auto waiter = std::async(std::launch::async, [&] { return &pool.Acquire().session(); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  Poco::Data::Session* first = &held->session();
  held.reset();
  ASSERT_EQ(waiter.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(waiter.get(), first);
  // It tried once and then kept to the one session it has.
  EXPECT_EQ(factory.calls(), 2);
  ReadSessionPool::Lease a = pool.Acquire();
  EXPECT_EQ(factory.calls(), 2);
  EXPECT_EQ(pool.size(), 1u);
}

TEST(ReadSessionPoolTest, TheFirstSessionsFailureReachesTheCaller) {
  CountingFactory factory(/*fail_from=*/1);
  try {
    ReadSessionPool pool(factory.Make(), 2);
    FAIL() << "the pool was made without a session";
  } catch (const Poco::IOException& error) {
    EXPECT_THAT(error.displayText(), HasSubstr("connection refused for session 1"));
  }
}

// ---- Concurrent reads through LocalStore, both backends -------------------

WriteOp PatientPut(const std::string& id, const std::string& family) {
  WriteOp op;
  op.kind = WriteOp::Kind::kPut;
  op.type = "Patient";
  op.id = id;
  op.body = R"({"resourceType":"Patient","name":[{"family":")" + family + R"("}]})";
  return op;
}

class ConcurrentReadsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") schema_ = std::make_unique<testing::PostgresSchema>();
    StoreConfig config;
    config.backend = GetParam();
    if (schema_) config.connection = schema_->connection();
    auto store = OpenLocalStore(config, dir_.path(), "node-a");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(store).value();
  }

  testing::ScratchDir dir_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<LocalStore> store_;
};

// Readers on several sessions at once while a writer makes versions 1..n:
// each reader sees versions that never go back, and once the writer is
// done every session sees the last one (no session keeps an old snapshot).
TEST_P(ConcurrentReadsTest, ReadersOnEverySessionSeeEachCommittedVersionInOrder) {
  constexpr int kReaders = 4;
  constexpr int kVersions = 60;
  ASSERT_TRUE(store_->Put(PatientPut("p1", "v1")).ok());
  std::atomic<bool> writing{true};
  std::atomic<int> problems{0};
  std::vector<std::string> first_problem(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::int64_t last = 0;
      std::int64_t last_seq = 0;
      while (writing.load()) {
        auto got = store_->Get("Patient", "p1");
        auto seq = store_->LastSeq();
        std::string problem;
        if (!seq.ok()) {
          problem = seq.status().ToString();
        } else if (*seq < last_seq) {
          problem = "last seq went back from " + std::to_string(last_seq) + " to " +
                    std::to_string(*seq);
        } else if (!got.ok()) {
          problem = got.status().ToString();
        } else if (got->version < last) {
          problem = "version went back from " + std::to_string(last) + " to " +
                    std::to_string(got->version);
        } else if (got->body.find("\"family\":\"v" + std::to_string(got->version) + "\"") ==
                   std::string::npos) {
          problem = "version " + std::to_string(got->version) + " has body " + got->body;
        }
        if (!problem.empty()) {
          if (problems++ == 0) first_problem[r] = problem;
          return;
        }
        last = got->version;
        last_seq = *seq;
      }
    });
  }
  for (int v = 2; v <= kVersions; ++v) {
    auto put = store_->Put(PatientPut("p1", "v" + std::to_string(v)));
    ASSERT_TRUE(put.ok()) << put.status();
    ASSERT_EQ(put->version, v);
  }
  writing = false;
  for (std::thread& reader : readers) reader.join();
  for (const std::string& problem : first_problem) EXPECT_EQ(problem, "");
  EXPECT_EQ(problems.load(), 0);
  // From several threads at once, so that every pooled session answers.
  // Each version is one change, so the last seq is kVersions too.
  std::vector<std::future<std::pair<std::int64_t, std::int64_t>>> finals;
  for (int r = 0; r < kReaders * 2; ++r) {
    finals.push_back(std::async(std::launch::async, [&] {
      auto got = store_->Get("Patient", "p1");
      auto seq = store_->LastSeq();
      return std::make_pair(got.ok() ? got->version : -1, seq.ok() ? *seq : -1);
    }));
  }
  for (auto& final_read : finals) {
    EXPECT_EQ(final_read.get(), std::make_pair(std::int64_t{kVersions}, std::int64_t{kVersions}));
  }
}

// A read never waits for a write transaction in progress, on any backend:
// an Import of many batches runs while Gets answer with committed data.
TEST_P(ConcurrentReadsTest, GetsAnswerDuringALongImport) {
  ASSERT_TRUE(store_->Put(PatientPut("fixed", "v1")).ok());
  std::vector<WriteOp> ops;
  for (int i = 0; i < 2000; ++i) ops.push_back(PatientPut("bulk" + std::to_string(i), "b"));
  auto import = std::async(std::launch::async, [&] { return store_->Import(ops, {}, 50); });
  int reads = 0;
  while (import.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    auto got = store_->Get("Patient", "fixed");
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->version, 1);
    ++reads;
  }
  auto summary = import.get();
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->written, 2000);
  EXPECT_GT(reads, 0);
  auto last = store_->Get("Patient", "bulk1999");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->version, 1);
}

// Unknown keys and hostile ids are answered NotFound on the prepared path too.
TEST_P(ConcurrentReadsTest, MissingResourceIsNotFoundNamingIt) {
  ASSERT_TRUE(store_->Put(PatientPut("p1", "v1")).ok());
  for (const std::string& id : {std::string("p2"), std::string("p1' OR '1'='1"),
                                std::string("p1\0x", 4)}) {
    auto got = store_->Get("Patient", id);
    ASSERT_FALSE(got.ok()) << id;
    EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(got.status().message(), HasSubstr("does not exist"));
  }
  auto found = store_->Get("Patient", "p1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->id, "p1");
  EXPECT_EQ(found->type, "Patient");
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrentReadsTest,
                         ::testing::Values("sqlite", "postgresql"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace fhirsync
