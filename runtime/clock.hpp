// The injected wall clock (DESIGN.md §4.2): timestamps written to RocksDB come from here, never
// from std::chrono::system_clock in node code, so the simulator can control them.
#pragma once

#include <atomic>
#include <cstdint>

namespace librarian {

class wall_clock {
 public:
  virtual ~wall_clock() = default;
  [[nodiscard]] virtual int64_t now_unix_ms() const = 0;
};

// Production: the operating system's clock.
class system_wall_clock final : public wall_clock {
 public:
  [[nodiscard]] int64_t now_unix_ms() const override;
};

// Simulation and tests: a clock that moves only when told to.
class manual_wall_clock final : public wall_clock {
 public:
  explicit manual_wall_clock(int64_t start_unix_ms) : now_ms_(start_unix_ms) {}
  [[nodiscard]] int64_t now_unix_ms() const override { return now_ms_.load(); }
  void set(int64_t unix_ms) { now_ms_.store(unix_ms); }
  void advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace librarian
