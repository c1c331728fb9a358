#include "runtime/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace librarian::detail {

void assertion_failed(const char* expr, const char* file, int line, const char* why) {
  std::fprintf(stderr, "assertion failed: %s at %s:%d%s%s\n", expr, file, line, why ? ": " : "",
               why ? why : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace librarian::detail
