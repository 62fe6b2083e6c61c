// TestSeed (support/test_seed.h): a seed from the environment is taken as
// it is, a bad one is refused, and without one a fresh seed is drawn.

#include "support/test_seed.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <stdexcept>

namespace fhirsync::testing {
namespace {

class TestSeedTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv(kTestSeedVariable); }
};

TEST_F(TestSeedTest, TakesTheSeedFromTheEnvironment) {
  setenv(kTestSeedVariable, "18446744073709551615", 1);
  EXPECT_EQ(TestSeed(), 18446744073709551615ull);
  EXPECT_EQ(ReplayHint(42), "seed 42 (replay: FHIRSYNC_TEST_SEED=42)");
}

TEST_F(TestSeedTest, RefusesASeedThatIsNotANumber) {
  for (const char* bad : {"abc", "12x", "-3"}) {
    setenv(kTestSeedVariable, bad, 1);
    EXPECT_THROW(TestSeed(), std::invalid_argument) << bad;
  }
}

TEST_F(TestSeedTest, DrawsAFreshSeedWithoutOne) {
  unsetenv(kTestSeedVariable);
  // Two 64-bit draws agree once in 2^64.
  EXPECT_NE(TestSeed(), TestSeed());
}

}  // namespace
}  // namespace fhirsync::testing
