#include "base/status.h"

#include <gtest/gtest.h>

namespace dcmfs {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(StatusTest, PropagatesFirstError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().ToString(), "InvalidArgument: odd");
}

TEST(StatusTest, WithContextPrefixesMessage) {
  Status s = Status::NotFound("no blob").WithContext("blobs/ab/cd");
  EXPECT_EQ(s.message(), "blobs/ab/cd: no blob");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusDeathTest, ValueOfErrorAborts) {
  Result<int> r = Status::NotFound("x");
  EXPECT_DEATH((void)r.value(), "NotFound: x");
}

}  // namespace
}  // namespace dcmfs
