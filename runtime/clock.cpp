#include "runtime/clock.hpp"

#include <chrono>

namespace librarian {

int64_t system_wall_clock::now_unix_ms() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

}  // namespace librarian
