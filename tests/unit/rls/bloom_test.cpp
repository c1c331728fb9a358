// The Bloom filter RLIs hold per LRC: its false-positive rate and its wire format's validation.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "actors/rls/bloom.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;

// Random LFN-like names; the prefix keeps inserted and probed sets disjoint.
std::string random_name(std::mt19937_64& rng, const char* prefix) {
  return std::string(prefix) + "/run" + std::to_string(rng() % 1000) + "/file-" +
         std::to_string(rng());
}

bloom_filter filled_filter(size_t items) {
  auto filter = bloom_filter::sized_for(items);
  REQUIRE(filter.has_value());
  for (size_t i = 0; i < items; ++i) filter->insert("lfn-" + std::to_string(i));
  return *filter;
}

}  // namespace

TEST_CASE("the default parameters keep the measured false-positive rate at or below 1%") {
  constexpr size_t items = 100'000;
  std::mt19937_64 rng(20240601);
  auto filter = bloom_filter::sized_for(items);
  REQUIRE(filter.has_value());
  for (size_t i = 0; i < items; ++i) filter->insert(random_name(rng, "in"));
  size_t false_hits = 0;
  for (size_t i = 0; i < items; ++i)
    false_hits += filter->possibly_contains(random_name(rng, "out"));
  const double rate = static_cast<double>(false_hits) / static_cast<double>(items);
  MESSAGE("measured false-positive rate: " << rate * 100 << "% (" << false_hits << " of " << items
                                           << ")");
  CHECK(filter->format() == bloom_format_blocked);
  CHECK(rate <= 0.01);
}

TEST_CASE("a blocked filter keeps every name's bits in one 512-bit block, on one cache line") {
  auto filter = bloom_filter::sized_for(1);
  REQUIRE(filter.has_value());
  REQUIRE(filter->bit_count() == bloom_block_bits);
  filter->insert("one name");
  const std::string bytes = filter->serialize();
  size_t set = 0;
  for (size_t i = bloom_header_bytes; i < bytes.size(); ++i)
    set += static_cast<size_t>(__builtin_popcount(static_cast<uint8_t>(bytes[i])));
  CHECK(set >= 1);
  CHECK(set <= bloom_hashes_default);
  // A larger filter: each insert changes bytes within one 64-byte block only.
  auto big = bloom_filter::sized_for(10'000);
  REQUIRE(big.has_value());
  const std::string before = big->serialize();
  big->insert("another name");
  const std::string after = big->serialize();
  size_t first = 0, last = 0, changed = 0;
  for (size_t i = bloom_header_bytes; i < after.size(); ++i) {
    if (before[i] == after[i]) continue;
    if (changed++ == 0) first = i;
    last = i;
  }
  REQUIRE(changed > 0);
  CHECK((first - bloom_header_bytes) / 64 == (last - bloom_header_bytes) / 64);
}

TEST_CASE("a name's key probes the same as the name, in any filter") {
  auto a = filled_filter(5'000);
  auto b = bloom_filter::sized_for(50'000);
  REQUIRE(b.has_value());
  for (size_t i = 0; i < 50'000; i += 3) b->insert("lfn-" + std::to_string(i));
  for (size_t i = 0; i < 20'000; ++i) {
    const std::string name = "lfn-" + std::to_string(i);
    const bloom_key key = bloom_filter::key_of(name);
    a.prefetch(key);
    b->prefetch(key);
    CHECK(a.possibly_contains(key) == a.possibly_contains(name));
    CHECK(b->possibly_contains(key) == b->possibly_contains(name));
  }
}

TEST_CASE("a classic (format 1) filter from an older LRC is still read and answers") {
  auto classic = bloom_filter::classic_for_test(10'000);
  REQUIRE(classic.has_value());
  for (size_t i = 0; i < 10'000; ++i) classic->insert("lfn-" + std::to_string(i));
  const std::string bytes = classic->serialize();
  CHECK(static_cast<uint8_t>(bytes[0]) == bloom_format_classic);
  auto loaded = bloom_filter::deserialize(bytes);
  REQUIRE(loaded.has_value());
  CHECK(loaded->format() == bloom_format_classic);
  CHECK(*loaded == *classic);
  size_t false_hits = 0;
  for (size_t i = 0; i < 10'000; ++i) {
    CHECK(loaded->possibly_contains("lfn-" + std::to_string(i)));
    false_hits += loaded->possibly_contains("other-" + std::to_string(i));
  }
  CHECK(false_hits < 200);  // ~0.8 % expected
}

TEST_CASE("a Bloom filter never forgets an inserted name") {
  auto filter = filled_filter(10'000);
  for (size_t i = 0; i < 10'000; ++i) CHECK(filter.possibly_contains("lfn-" + std::to_string(i)));
  CHECK(filter.item_count() == 10'000);
}

TEST_CASE("optimal_hashes is round(ln 2 * bits per item), within bounds") {
  CHECK(optimal_hashes(10) == 7);
  CHECK(optimal_hashes(1) == 1);
  CHECK(optimal_hashes(0) == 1);
  CHECK(optimal_hashes(64) == bloom_hashes_max);
  // The blocked filter's best k is a little below the classic optimum (round(7.6) = 8 for 11
  // bits); 7 and 8 measure the same, and 7 costs one probe less.
  CHECK(optimal_hashes(bloom_bits_per_item_default) == bloom_hashes_default + 1);
}

TEST_CASE("sizing refuses parameters out of bounds") {
  CHECK(bloom_filter::sized_for(100, 0, 3).err().code == errc::invalid_argument);
  CHECK(bloom_filter::sized_for(100, 10, 0).err().code == errc::invalid_argument);
  CHECK(bloom_filter::sized_for(100, 10, bloom_hashes_max + 1).err().code ==
        errc::invalid_argument);
  CHECK(bloom_filter::sized_for(UINT64_MAX, 10, 7).err().code == errc::invalid_argument);
  CHECK(bloom_filter::sized_for(1'000'000, 10, 7, 1'000'000).err().code == errc::invalid_argument);
  auto empty = bloom_filter::sized_for(0);
  REQUIRE(empty.has_value());
  CHECK(empty->bit_count() == bloom_block_bits);
  CHECK_FALSE(empty->possibly_contains("x"));
}

TEST_CASE("a serialized filter loads back equal") {
  auto filter = filled_filter(1'000);
  const std::string bytes = filter.serialize();
  CHECK(bytes.size() == bloom_header_bytes + filter.bit_count() / 8);
  auto loaded = bloom_filter::deserialize(bytes);
  REQUIRE(loaded.has_value());
  CHECK(*loaded == filter);
  CHECK(loaded->possibly_contains("lfn-999"));
}

TEST_CASE("truncated, corrupt and oversized filters from a peer are refused") {
  const std::string bytes = filled_filter(1'000).serialize();
  SUBCASE("truncated header or bits") {
    CHECK(bloom_filter::deserialize(bytes.substr(0, 10)).err().code == errc::invalid_argument);
    CHECK(bloom_filter::deserialize(bytes.substr(0, bytes.size() - 1)).err().code ==
          errc::invalid_argument);
    CHECK(bloom_filter::deserialize(bytes + "x").err().code == errc::invalid_argument);
  }
  SUBCASE("a flipped bit fails the checksum") {
    std::string corrupt = bytes;
    corrupt[bloom_header_bytes + 5] = static_cast<char>(corrupt[bloom_header_bytes + 5] ^ 0x10);
    CHECK(bloom_filter::deserialize(corrupt).err().code == errc::checksum_mismatch);
  }
  SUBCASE("unknown version or hash count out of bounds") {
    std::string bad_version = bytes;
    bad_version[0] = 9;
    CHECK(bloom_filter::deserialize(bad_version).err().code == errc::invalid_argument);
    std::string bad_hashes = bytes;
    bad_hashes[4] = 0;
    CHECK(bloom_filter::deserialize(bad_hashes).err().code == errc::invalid_argument);
  }
  SUBCASE("a blocked filter whose bit count is not a whole number of blocks") {
    std::string ragged = bytes;
    ragged[8] = static_cast<char>(static_cast<uint8_t>(ragged[8]) ^ 0x40);  // +/- 64 bits
    CHECK(bloom_filter::deserialize(ragged).err().code == errc::invalid_argument);
  }
  SUBCASE("a header claiming a huge filter is refused before anything is allocated") {
    std::string huge = bytes;
    huge[15] = 0x7f;  // top byte of the bit count
    CHECK(bloom_filter::deserialize(huge).err().code == errc::invalid_argument);
  }
  SUBCASE("a filter above the receiver's bound is refused") {
    CHECK(bloom_filter::deserialize(bytes, 1'024).err().code == errc::invalid_argument);
  }
}
