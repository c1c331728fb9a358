// The one seeded source of randomness (DESIGN.md §4.3). Node code draws from an rng handed down
// to it; `fork` derives independent, reproducible streams (one per node, actor or purpose).
#pragma once

#include <cstdint>
#include <string_view>

namespace librarian {

// xoshiro256** seeded through splitmix64: fast, small state, good statistical quality.
class rng {
 public:
  explicit rng(uint64_t seed);

  [[nodiscard]] uint64_t next();
  // Uniform in [low, high]; low <= high.
  [[nodiscard]] uint64_t uniform(uint64_t low, uint64_t high);
  // Uniform in [0, 1).
  [[nodiscard]] double unit();
  [[nodiscard]] bool chance(double probability);
  // A new generator whose stream depends on this one's seed and the label, not on how much this
  // one has been used, so adding a draw somewhere does not reshuffle every other stream.
  [[nodiscard]] rng fork(std::string_view label) const;
  [[nodiscard]] uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

}  // namespace librarian
