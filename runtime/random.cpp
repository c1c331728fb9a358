#include "runtime/random.hpp"

#include "runtime/assert.hpp"

namespace librarian {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

rng::rng(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (auto& word : state_) word = splitmix64(x);
}

uint64_t rng::next() {
  uint64_t result = rotl(state_[1] * 5, 7) * 9;
  uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

uint64_t rng::uniform(uint64_t low, uint64_t high) {
  LIB_ASSERT(low <= high);
  uint64_t span = high - low;
  if (span == UINT64_MAX) return next();
  // Rejection sampling removes modulo bias.
  uint64_t bound = span + 1;
  uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  uint64_t draw = next();
  while (draw >= limit) draw = next();
  return low + draw % bound;
}

double rng::unit() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

bool rng::chance(double probability) {
  return unit() < probability;
}

rng rng::fork(std::string_view label) const {
  // FNV-1a over the label, mixed with the parent seed.
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : label) hash = (hash ^ c) * 0x100000001b3ULL;
  uint64_t mix = seed_ ^ hash;
  return rng{splitmix64(mix)};
}

}  // namespace librarian
