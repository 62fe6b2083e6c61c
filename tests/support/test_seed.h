// TestSeed: the seed of a random test. Taken from the environment variable
// FHIRSYNC_TEST_SEED when it is set, so that a failure can be replayed;
// otherwise drawn fresh. Either way it is printed and recorded as the
// test's "seed" property (in the XML report), and ReplayHint() names it
// for a SCOPED_TRACE, so every failure message says how to replay it.
// Header-only; needs GoogleTest.
//
// Thread safety: call from the test's own thread.

#ifndef FHIRSYNC_TESTS_SUPPORT_TEST_SEED_H_
#define FHIRSYNC_TESTS_SUPPORT_TEST_SEED_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>

namespace fhirsync::testing {

inline constexpr char kTestSeedVariable[] = "FHIRSYNC_TEST_SEED";

// Throws std::invalid_argument (failing the test) when the variable is set
// but is not a decimal number.
inline std::uint64_t TestSeed() {
  const char* given = std::getenv(kTestSeedVariable);
  std::uint64_t seed = 0;
  if (given != nullptr && *given != '\0') {
    char* end = nullptr;
    seed = std::strtoull(given, &end, 10);
    if (*end != '\0' || *given == '-') {
      throw std::invalid_argument(std::string(kTestSeedVariable) + "='" + given +
                                  "' is not a decimal number");
    }
  } else {
    std::random_device device;
    seed = (static_cast<std::uint64_t>(device()) << 32) | device();
  }
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::printf("[   SEED   ] %s.%s: %s=%llu (%s)\n", test ? test->test_suite_name() : "?",
              test ? test->name() : "?", kTestSeedVariable,
              static_cast<unsigned long long>(seed),
              given != nullptr && *given != '\0' ? "from the environment" : "drawn");
  std::fflush(stdout);
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  return seed;
}

// "seed S (replay: FHIRSYNC_TEST_SEED=S)", for SCOPED_TRACE.
inline std::string ReplayHint(std::uint64_t seed) {
  return "seed " + std::to_string(seed) + " (replay: " + kTestSeedVariable + "=" +
         std::to_string(seed) + ")";
}

}  // namespace fhirsync::testing

#endif  // FHIRSYNC_TESTS_SUPPORT_TEST_SEED_H_
