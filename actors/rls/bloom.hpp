// A Bloom filter over LFNs: the compressed soft state an LRC sends to an RLI instead of its full
// LFN list (Giggle's "C = Bloom"). Plain data, no I/O; filters from peers are validated on load.
//
// Filters are *blocked* (format 2): every probe of one name falls in the same 512-bit block, one
// cache line, so a query touches one line per filter whatever the hash count, and an RLI asking
// many filters about one name can start all their loads at once (prefetch) before testing any.
// Format 1 (the classic layout, probes spread over the whole filter) is still read, so an RLI
// keeps answering from an older LRC's filters during an upgrade.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::rls {

// Defaults. Globus RLS used 10 bits per LFN and 3 hashes, which gives (1 - e^-0.3)^3 ~ 1.74%
// false positives, not the "~1%" its docs claim. A classic filter of 10 bits and 7 hashes gives
// (1 - e^-0.7)^7 ~ 0.82%. Blocking costs a little, because blocks hold unequal numbers of names:
// measured (200,000 names in, as many others probed), 10 bits give 0.97% at 6 or 7 hashes -- too
// close to the 1% -- and 11 bits 0.64% at 7 hashes (0.63% at 8). So the default is 11
// bits and 7 hashes: 10% more memory than the classic filter, fewer false hits, and one cache
// line per query. Deletions are handled by rebuilding.
inline constexpr uint32_t bloom_bits_per_item_default = 11;
inline constexpr uint32_t bloom_hashes_default = 7;

inline constexpr uint32_t bloom_bits_per_item_max = 64;  // beyond this a list is cheaper
inline constexpr uint32_t bloom_hashes_max = 32;         // each costs a cache miss per query
// 1 GiB of memory. A peer's filter larger than the receiver's bound is refused, never allocated.
inline constexpr uint64_t bloom_bits_max_default = uint64_t{1} << 33;
inline constexpr uint8_t bloom_format_classic = 1;  // read only
inline constexpr uint8_t bloom_format_blocked = 2;  // written
inline constexpr uint8_t bloom_format_version = bloom_format_blocked;
inline constexpr uint64_t bloom_block_bits = 512;  // one 64-byte cache line
// version u8, 3 pad bytes, hash count u32, bit count u64, item count u64, checksum u64 (XXH3-64
// of the bit words), all little-endian; then bit_count / 8 bytes of bits. The bit count is a
// multiple of 64 in format 1 and of 512 in format 2.
inline constexpr size_t bloom_header_bytes = 32;

// A name's hash, computed once and then probed against any number of filters (all filters use
// the same hash: XXH3-128 of the name).
struct bloom_key {
  uint64_t low = 0;
  uint64_t high = 0;
};

// The k that minimises false positives for a given m/n: round(ln 2 * m/n), within 1..hashes_max.
[[nodiscard]] uint32_t optimal_hashes(uint32_t bits_per_item);

class bloom_filter {
 public:
  // Bits = expected_items * bits_per_item, rounded up to whole 64-bit words (at least one word).
  // invalid_argument if bits_per_item or hash_count is 0 or above its max, or bits > bits_max.
  [[nodiscard]] static expected<bloom_filter> sized_for(
      uint64_t expected_items, uint32_t bits_per_item = bloom_bits_per_item_default,
      uint32_t hash_count = bloom_hashes_default, uint64_t bits_max = bloom_bits_max_default);

  [[nodiscard]] static bloom_key key_of(std::string_view item);

  void insert(std::string_view item);
  [[nodiscard]] bool possibly_contains(std::string_view item) const;
  [[nodiscard]] bool possibly_contains(const bloom_key& key) const;
  // Starts loading the memory possibly_contains(key) will read; a hint, no effect on answers.
  void prefetch(const bloom_key& key) const;

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
  [[nodiscard]] uint8_t format() const { return format_; }

  friend bool operator==(const bloom_filter&, const bloom_filter&) = default;

  // Only for tests of reading older peers' filters: a classic (format 1) filter.
  [[nodiscard]] static expected<bloom_filter> classic_for_test(uint64_t expected_items);

 private:
  // Keeps each block on one cache line.
  template <class T>
  struct line_allocator {
    using value_type = T;
    line_allocator() = default;
    template <class U>
    explicit line_allocator(const line_allocator<U>&) {}
    T* allocate(size_t n) {
      return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
    }
    void deallocate(T* p, size_t) { ::operator delete (p, std::align_val_t{64}); }
    friend bool operator==(const line_allocator&, const line_allocator&) { return true; }
  };

  bloom_filter(uint8_t format, uint64_t bit_count, uint32_t hash_count);
  [[nodiscard]] uint64_t block_of(uint64_t low) const;

  std::vector<uint64_t, line_allocator<uint64_t>> words_;
  uint8_t format_ = bloom_format_blocked;
  uint64_t bit_count_ = 0;
  uint32_t hash_count_ = 0;
  uint64_t item_count_ = 0;
};

}  // namespace librarian::rls
