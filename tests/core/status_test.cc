#include "fhirsync/status.h"

#include <gtest/gtest.h>

namespace fhirsync {
namespace {

StatusOr<int> Half(int n) {
  if (n % 2 != 0) return InvalidArgumentError(std::to_string(n) + " is odd");
  return n / 2;
}

StatusOr<int> Quarter(int n) {
  FHIRSYNC_ASSIGN_OR_RETURN(int half, Half(n));
  FHIRSYNC_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, OkHasNoMessage) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ToStringNamesCode) {
  EXPECT_EQ(NotFoundError("Patient/1").ToString(), "NOT_FOUND: Patient/1");
  EXPECT_EQ(AbortedError("x").code(), StatusCode::kAborted);
  EXPECT_EQ(InvalidArgumentError("x").WithContext("entry 2").message(), "entry 2: x");
}

TEST(StatusOrTest, PropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  StatusOr<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "3 is odd");
  EXPECT_THROW((void)r.value(), std::logic_error);
}

TEST(StatusOrTest, OkStatusBecomesInternal) {
  StatusOr<int> r{Status::Ok()};
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace fhirsync
