// A child's memory while it pulls must not grow with the length of the feed
// (streaming, not buffering). Two real parent processes serve a
// small and a large generated set; a fresh child process pulls each; the
// peak resident memory of the child (VmHWM, sampled while it runs) is
// compared. The large set carries far more body bytes than the bound, so a
// pull that kept the feed's entries or bodies, or a cache that grows with
// the store, shows up as the difference. No timing is asserted.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "fhirsync/config.h"
#include "support/sanitizers.h"
#include "support/serve_process.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace fhirsync::testing {
namespace {

const std::string kBinary = FHIRSYNC_BINARY;
constexpr char kUser[] = "memory-child";
constexpr char kPassword[] = "memory password";

// Bodies of 16 KiB: the large set (3,000 of them, 47 MiB) is far larger than
// what a bounded pull may hold at once.
constexpr std::size_t kBodyPadding = 16 * 1024;
constexpr int kSmallSet = 100;
constexpr int kLargeSet = 3000;
// A pull keeps at most one page (batch_size x in_flight bodies, here 40 of
// 16 KiB) plus the store's fixed caches; the large set's extra peak must stay
// well under what holding its bodies (47 MiB) would cost.
constexpr long kMaxExtraPeakKb = 24 * 1024;

ProcessResult Fhirsync(const std::vector<std::string>& args, const std::string& stdin_data = "") {
  std::vector<std::string> argv{kBinary};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.stdin_data = stdin_data;
  options.timeout = std::chrono::seconds(300);
  return RunProcess(argv, options);
}

// An ndjson file of `count` Patients, each with kBodyPadding bytes of text,
// written line by line (the test itself holds one body at a time).
std::string WriteSet(const std::string& dir, int count) {
  const std::string path = dir + "/patients.ndjson";
  std::ofstream out(path);
  const std::string padding(kBodyPadding, 'm');
  for (int i = 0; i < count; ++i) {
    out << R"({"resourceType":"Patient","id":"mem-)" << i
        << R"(","name":[{"family":"Family)" << i << R"(","given":[")" << padding << R"("]}]})"
        << '\n';
  }
  return path;
}

class Parent {
 public:
  Parent(const std::string& dir, int count) : dir_(dir), serve_(kBinary, dir) {
    ProcessResult init = Fhirsync({"init", "--dir", dir_, "--node-id", "memory-parent"});
    EXPECT_EQ(init.exit_code, 0) << init.err;
    ProcessResult user = Fhirsync({"user", "add", kUser, "--role", "read", "--dir", dir_},
                                  std::string(kPassword) + "\n");
    EXPECT_EQ(user.exit_code, 0) << user.err;
    ProcessResult import = Fhirsync({"import", WriteSet(dir_, count), "--dir", dir_});
    EXPECT_EQ(import.exit_code, 0) << import.err;
    started_ = serve_.Start();
    EXPECT_TRUE(started_) << serve_.error();
  }
  bool started() const { return started_; }
  std::string url() const { return serve_.url(); }

 private:
  std::string dir_;
  ServeProcess serve_;
  bool started_ = false;
};

struct PullRun {
  long peak_kb = 0;
  std::int64_t fetched = -1;
};

// A fresh child (read role only on the parent) pulls everything once.
PullRun PullInto(const std::string& dir, const Parent& parent) {
  PullRun run;
  ProcessResult init = Fhirsync({"init", "--dir", dir, "--node-id", "memory-child", "--parent",
                                 parent.url(), "--parent-user", kUser},
                                std::string(kPassword) + "\n");
  EXPECT_EQ(init.exit_code, 0) << init.err;
  auto config = LoadNodeConfig(dir);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return run;
  config->pull.batch_size = 20;
  config->pull.in_flight = 2;
  EXPECT_TRUE(SaveNodeConfig(dir, *config).ok());
  ChildProcess child;
  std::string error;
  EXPECT_TRUE(
      child.Start({kBinary, "sync", "--dir", dir, "--pull", "--once", "--json"}, {}, &error))
      << error;
  ProcessResult result = child.Wait(std::chrono::seconds(300));
  EXPECT_EQ(result.exit_code, 0) << result.Describe() << ": " << result.err;
  run.peak_kb = result.peak_resident_kb;
  rapidjson::Document summary;
  summary.Parse(result.out.c_str());
  if (summary.IsObject() && summary.HasMember("fetched") && summary["fetched"].IsInt64()) {
    run.fetched = summary["fetched"].GetInt64();
  }
  return run;
}

TEST(PullMemoryTest, PeakMemoryDoesNotGrowWithTheFeed) {
  TempDir tmp("fhirsync-pull-memory");
  Parent small(tmp.path() + "/parent-small", kSmallSet);
  Parent large(tmp.path() + "/parent-large", kLargeSet);
  ASSERT_TRUE(small.started() && large.started());

  const PullRun small_run = PullInto(tmp.path() + "/child-small", small);
  const PullRun large_run = PullInto(tmp.path() + "/child-large", large);
  ASSERT_EQ(small_run.fetched, kSmallSet);
  ASSERT_EQ(large_run.fetched, kLargeSet);
  ASSERT_GT(small_run.peak_kb, 0) << "VmHWM of the child was never read";
  const long extra_kb = large_run.peak_kb - small_run.peak_kb;
  RecordProperty("small_peak_kb", std::to_string(small_run.peak_kb));
  RecordProperty("large_peak_kb", std::to_string(large_run.peak_kb));
  if (testing::kUnderAddressSanitizer) {
    GTEST_SKIP() << "peak memory is not bounded under AddressSanitizer (support/sanitizers.h)";
  }
  EXPECT_LT(extra_kb, kMaxExtraPeakKb)
      << "the child's peak memory pulling " << kLargeSet << " resources was "
      << large_run.peak_kb << " KiB, " << extra_kb << " KiB more than pulling " << kSmallSet
      << " (" << small_run.peak_kb << " KiB)";
}

}  // namespace
}  // namespace fhirsync::testing
