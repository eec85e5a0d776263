// CHECK(cond) << "context": a broken invariant is a bug, not a Status. Aborts
// with file:line and the streamed message. Never used for bad input.
#pragma once

#include <sstream>

namespace dcmfs::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << ...` be an expression of type void in both branches.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace dcmfs::internal

#define CHECK(cond)         \
  (cond) ? (void)0          \
         : ::dcmfs::internal::Voidify() & \
               ::dcmfs::internal::CheckFailure(__FILE__, __LINE__, #cond)
