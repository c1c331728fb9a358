#include "bench/common/phase.hpp"

#include <chrono>
#include <cstdio>

namespace librarian::bench {

void print_phase(std::string_view suite, std::string_view name) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::fprintf(stderr, "%.*s: %.*s at %lld.%03lld\n", static_cast<int>(suite.size()), suite.data(),
               static_cast<int>(name.size()), name.data(), static_cast<long long>(ms / 1000),
               static_cast<long long>(ms % 1000));
}

}  // namespace librarian::bench
