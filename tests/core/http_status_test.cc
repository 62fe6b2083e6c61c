// StatusCodeForHttpStatus: the architecture §5 table, class by class.

#include "fhirsync/http_status.h"

#include <gtest/gtest.h>

namespace fhirsync {
namespace {

TEST(HttpStatusTest, MapsEveryClassAsDesignSection5Says) {
  EXPECT_EQ(StatusCodeForHttpStatus(200), StatusCode::kOk);
  EXPECT_EQ(StatusCodeForHttpStatus(201), StatusCode::kOk);
  EXPECT_EQ(StatusCodeForHttpStatus(204), StatusCode::kOk);
  EXPECT_EQ(StatusCodeForHttpStatus(302), StatusCode::kUnimplemented);
  EXPECT_EQ(StatusCodeForHttpStatus(400), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForHttpStatus(401), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusCodeForHttpStatus(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusCodeForHttpStatus(404), StatusCode::kNotFound);
  EXPECT_EQ(StatusCodeForHttpStatus(405), StatusCode::kUnimplemented);
  EXPECT_EQ(StatusCodeForHttpStatus(408), StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForHttpStatus(409), StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForHttpStatus(410), StatusCode::kNotFound);
  EXPECT_EQ(StatusCodeForHttpStatus(412), StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForHttpStatus(413), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForHttpStatus(422), StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForHttpStatus(429), StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForHttpStatus(500), StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForHttpStatus(501), StatusCode::kUnimplemented);
  EXPECT_EQ(StatusCodeForHttpStatus(503), StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForHttpStatus(504), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusCodeForHttpStatus(599), StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForHttpStatus(100), StatusCode::kUnknown);
  EXPECT_EQ(StatusCodeForHttpStatus(0), StatusCode::kUnknown);
  EXPECT_EQ(StatusCodeForHttpStatus(700), StatusCode::kUnknown);
}

}  // namespace
}  // namespace fhirsync
