// A Bloom filter over LFNs: the compressed soft state an LRC sends to an RLI instead of its full
// LFN list (Giggle's "C = Bloom"). Plain data, no I/O; filters from peers are validated on load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::rls {

// Defaults. Globus RLS used 10 bits per LFN and 3 hashes, which gives (1 - e^-0.3)^3 ~ 1.74%
// false positives, not the "~1%" its docs claim. With 10 bits the optimum is k = 7: theory
// (1 - e^-0.7)^7 ~ 0.82%; measured 0.817% (bloom_test.cpp: 100,000 names in, 100,000 others
// probed, fixed seed), so the "<= 1%" holds. Deletions are handled by rebuilding.
inline constexpr uint32_t bloom_bits_per_item_default = 10;
inline constexpr uint32_t bloom_hashes_default = 7;

inline constexpr uint32_t bloom_bits_per_item_max = 64;  // beyond this a list is cheaper
inline constexpr uint32_t bloom_hashes_max = 32;         // each costs a cache miss per query
// 1 GiB of memory. A peer's filter larger than the receiver's bound is refused, never allocated.
inline constexpr uint64_t bloom_bits_max_default = uint64_t{1} << 33;
inline constexpr uint8_t bloom_format_version = 1;
// version u8, 3 pad bytes, hash count u32, bit count u64, item count u64, checksum u64 (XXH3-64
// of the bit words), all little-endian; then bit_count / 8 bytes of bits.
inline constexpr size_t bloom_header_bytes = 32;

// The k that minimises false positives for a given m/n: round(ln 2 * m/n), within 1..hashes_max.
[[nodiscard]] uint32_t optimal_hashes(uint32_t bits_per_item);

class bloom_filter {
 public:
  // Bits = expected_items * bits_per_item, rounded up to whole 64-bit words (at least one word).
  // invalid_argument if bits_per_item or hash_count is 0 or above its max, or bits > bits_max.
  [[nodiscard]] static expected<bloom_filter> sized_for(
      uint64_t expected_items, uint32_t bits_per_item = bloom_bits_per_item_default,
      uint32_t hash_count = bloom_hashes_default, uint64_t bits_max = bloom_bits_max_default);

  void insert(std::string_view item);
  [[nodiscard]] bool possibly_contains(std::string_view item) const;

  [[nodiscard]] std::string serialize() const;
  // Refuses (invalid_argument) a wrong version, a hash count or bit count out of bounds, a bit
  // count above bits_max, a length that does not match the header, and (checksum_mismatch) bits
  // that do not match the checksum: a filter from a peer is data to check, never trusted.
  [[nodiscard]] static expected<bloom_filter> deserialize(
      std::string_view bytes, uint64_t bits_max = bloom_bits_max_default);

  [[nodiscard]] uint64_t bit_count() const { return bit_count_; }
  [[nodiscard]] uint32_t hash_count() const { return hash_count_; }
  // Insertions counted by the sender (duplicates included): statistics only.
  [[nodiscard]] uint64_t item_count() const { return item_count_; }
  [[nodiscard]] size_t memory_bytes() const { return words_.size() * sizeof(uint64_t); }

  friend bool operator==(const bloom_filter&, const bloom_filter&) = default;

 private:
  bloom_filter(uint64_t bit_count, uint32_t hash_count);

  std::vector<uint64_t> words_;
  uint64_t bit_count_ = 0;
  uint32_t hash_count_ = 0;
  uint64_t item_count_ = 0;
};

}  // namespace librarian::rls
