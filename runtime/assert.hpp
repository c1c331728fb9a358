// Always-on assertions (TigerBeetle style): a broken invariant is a programmer error; crash loudly
// so the supervisor restarts the actor from committed state instead of carrying on corrupted.
#pragma once

namespace librarian::detail {
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* why);
}

#define LIB_ASSERT(expr)                                                         \
  do {                                                                           \
    if (!(expr)) [[unlikely]]                                                    \
      ::librarian::detail::assertion_failed(#expr, __FILE__, __LINE__, nullptr); \
  } while (false)

#define LIB_ASSERT_MSG(expr, why)                                              \
  do {                                                                         \
    if (!(expr)) [[unlikely]]                                                  \
      ::librarian::detail::assertion_failed(#expr, __FILE__, __LINE__, (why)); \
  } while (false)
