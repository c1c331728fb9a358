// Bloom filter: one XXH3-128 hash per item, so an insert or probe hashes the name once whatever
// the hash count. Blocked filters (format 2) pick a 512-bit block from the low half (a
// multiply-shift range reduction, no division) and the bits inside it from the high half, by
// repeated multiplication by an odd constant taking the top 9 bits each time (as RocksDB's
// cache-local filter does). Classic filters (format 1, read only) use double hashing (Kirsch &
// Mitzenmacher) over the whole filter.
#include "actors/rls/bloom.hpp"

#include <xxhash.h>

#include <cmath>

#include "runtime/assert.hpp"

namespace librarian::rls {

namespace {

constexpr uint64_t bits_per_word = 64;

void put_u32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

[[nodiscard]] uint64_t get_le(std::string_view bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= uint64_t{static_cast<uint8_t>(bytes[at + i])} << (8 * i);
  }
  return value;
}

// Over the serialized (little-endian) bits, so sender and receiver agree whatever their byte order.
[[nodiscard]] uint64_t bits_checksum(std::string_view serialized_bits) {
  return XXH3_64bits(serialized_bits.data(), serialized_bits.size());
}

constexpr size_t checksum_offset = 24;

constexpr uint64_t words_per_block = bloom_block_bits / bits_per_word;
constexpr uint64_t probe_multiplier = 0x9e3779b97f4a7c15;  // odd: 2^64 / golden ratio
constexpr unsigned probe_shift = 64 - 9;                   // top 9 bits: a bit of 512

// The bits a key sets in its block, as one mask per word of the block.
struct block_mask {
  uint64_t words[words_per_block] = {};
};

[[nodiscard]] block_mask mask_of(uint64_t high, uint32_t hash_count) {
  block_mask mask;
  for (uint32_t i = 0; i < hash_count; ++i) {
    const uint64_t bit = high >> probe_shift;
    mask.words[bit / bits_per_word] |= uint64_t{1} << (bit % bits_per_word);
    high *= probe_multiplier;
  }
  return mask;
}

}  // namespace

uint32_t optimal_hashes(uint32_t bits_per_item) {
  const double k = std::round(std::log(2.0) * static_cast<double>(bits_per_item));
  if (k < 1.0) return 1;
  if (k > static_cast<double>(bloom_hashes_max)) return bloom_hashes_max;
  return static_cast<uint32_t>(k);
}

bloom_filter::bloom_filter(uint8_t format, uint64_t bit_count, uint32_t hash_count)
    : words_(bit_count / bits_per_word, 0),
      format_(format),
      bit_count_(bit_count),
      hash_count_(hash_count) {
  LIB_ASSERT(bit_count > 0 && bit_count % bits_per_word == 0);
  LIB_ASSERT(format == bloom_format_classic || bit_count % bloom_block_bits == 0);
}

bloom_key bloom_filter::key_of(std::string_view item) {
  const XXH128_hash_t h = XXH3_128bits(item.data(), item.size());
  return {h.low64, h.high64};
}

uint64_t bloom_filter::block_of(uint64_t low) const {
  const uint64_t blocks = bit_count_ / bloom_block_bits;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(low) * blocks) >> 64);
}

expected<bloom_filter> bloom_filter::sized_for(uint64_t expected_items, uint32_t bits_per_item,
                                               uint32_t hash_count, uint64_t bits_max) {
  if (bits_per_item == 0 || bits_per_item > bloom_bits_per_item_max) {
    return fail(errc::invalid_argument,
                "bloom bits per item must be 1.." + std::to_string(bloom_bits_per_item_max));
  }
  if (hash_count == 0 || hash_count > bloom_hashes_max) {
    return fail(errc::invalid_argument,
                "bloom hash count must be 1.." + std::to_string(bloom_hashes_max));
  }
  // Checked before multiplying so the product cannot overflow.
  if (expected_items > bits_max / bits_per_item) {
    return fail(errc::invalid_argument, "bloom filter for " + std::to_string(expected_items) +
                                            " items exceeds " + std::to_string(bits_max) + " bits");
  }
  uint64_t bits = expected_items * bits_per_item;
  bits = (bits + bloom_block_bits - 1) / bloom_block_bits * bloom_block_bits;
  if (bits == 0) bits = bloom_block_bits;
  if (bits > bits_max) return fail(errc::invalid_argument, "bloom filter exceeds its bit bound");
  return bloom_filter(bloom_format_blocked, bits, hash_count);
}

expected<bloom_filter> bloom_filter::classic_for_test(uint64_t expected_items) {
  uint64_t bits = expected_items * 10;  // the classic filter's former default
  bits = std::max<uint64_t>((bits + bits_per_word - 1) / bits_per_word * bits_per_word, 64);
  return bloom_filter(bloom_format_classic, bits, bloom_hashes_default);
}

void bloom_filter::insert(std::string_view item) {
  const bloom_key key = key_of(item);
  if (format_ == bloom_format_blocked) {
    const block_mask mask = mask_of(key.high, hash_count_);
    uint64_t* block = &words_[block_of(key.low) * words_per_block];
    for (uint64_t w = 0; w < words_per_block; ++w) block[w] |= mask.words[w];
  } else {
    uint64_t index = key.low;
    const uint64_t step = key.high | 1;  // odd: with bits a multiple of 64, never 0 mod bits
    for (uint32_t i = 0; i < hash_count_; ++i) {
      const uint64_t bit = index % bit_count_;
      words_[bit / bits_per_word] |= uint64_t{1} << (bit % bits_per_word);
      index += step;
    }
  }
  ++item_count_;
}

bool bloom_filter::possibly_contains(std::string_view item) const {
  return possibly_contains(key_of(item));
}

bool bloom_filter::possibly_contains(const bloom_key& key) const {
  if (format_ == bloom_format_blocked) {
    const block_mask mask = mask_of(key.high, hash_count_);
    const uint64_t* block = &words_[block_of(key.low) * words_per_block];
    uint64_t missing = 0;  // no branch per probe: the block is one cache line anyway
    for (uint64_t w = 0; w < words_per_block; ++w) missing |= mask.words[w] & ~block[w];
    return missing == 0;
  }
  uint64_t index = key.low;
  const uint64_t step = key.high | 1;
  for (uint32_t i = 0; i < hash_count_; ++i) {
    const uint64_t bit = index % bit_count_;
    if ((words_[bit / bits_per_word] & (uint64_t{1} << (bit % bits_per_word))) == 0) return false;
    index += step;
  }
  return true;
}

void bloom_filter::prefetch(const bloom_key& key) const {
  const uint64_t word = format_ == bloom_format_blocked ? block_of(key.low) * words_per_block
                                                        : key.low % bit_count_ / bits_per_word;
  __builtin_prefetch(&words_[word]);
}

std::string bloom_filter::serialize() const {
  std::string out;
  out.reserve(bloom_header_bytes + words_.size() * sizeof(uint64_t));
  out.push_back(static_cast<char>(format_));
  out.append(3, '\0');
  put_u32(out, hash_count_);
  put_u64(out, bit_count_);
  put_u64(out, item_count_);
  put_u64(out, 0);  // the checksum, patched below once the bits are written
  LIB_ASSERT(out.size() == bloom_header_bytes);
  for (uint64_t word : words_) put_u64(out, word);
  std::string checksum;
  put_u64(checksum, bits_checksum(std::string_view(out).substr(bloom_header_bytes)));
  out.replace(checksum_offset, checksum.size(), checksum);
  return out;
}

expected<bloom_filter> bloom_filter::deserialize(std::string_view bytes, uint64_t bits_max) {
  if (bytes.size() < bloom_header_bytes) {
    return fail(errc::invalid_argument, "bloom filter truncated: " + std::to_string(bytes.size()) +
                                            " bytes, header needs " +
                                            std::to_string(bloom_header_bytes));
  }
  const auto format = static_cast<uint8_t>(bytes[0]);
  if ((format != bloom_format_classic && format != bloom_format_blocked) ||
      get_le(bytes, 1, 3) != 0) {
    return fail(errc::invalid_argument, "bloom filter has an unknown format version " +
                                            std::to_string(format) + " (this node reads 1 and 2)");
  }
  const uint64_t granule = format == bloom_format_blocked ? bloom_block_bits : bits_per_word;
  const uint64_t hashes = get_le(bytes, 4, 4);
  const uint64_t bits = get_le(bytes, 8, 8);
  if (hashes == 0 || hashes > bloom_hashes_max) {
    return fail(errc::invalid_argument, "bloom filter hash count out of bounds");
  }
  if (bits == 0 || bits % granule != 0 || bits > bits_max) {
    return fail(errc::invalid_argument, "bloom filter of " + std::to_string(bits) +
                                            " bits refused (must be a multiple of " +
                                            std::to_string(granule) + ", at most " +
                                            std::to_string(bits_max) + ")");
  }
  // bits <= bits_max keeps this product far from overflow before comparing with the length.
  if (bytes.size() - bloom_header_bytes != bits / 8) {
    return fail(errc::invalid_argument, "bloom filter of " + std::to_string(bits) +
                                            " bits has the wrong length " +
                                            std::to_string(bytes.size()));
  }
  if (bits_checksum(bytes.substr(bloom_header_bytes)) != get_le(bytes, checksum_offset, 8)) {
    return fail(errc::checksum_mismatch, "bloom filter bits do not match their checksum");
  }
  bloom_filter filter(format, bits, static_cast<uint32_t>(hashes));
  filter.item_count_ = get_le(bytes, 16, 8);
  for (size_t w = 0; w < filter.words_.size(); ++w) {
    filter.words_[w] = get_le(bytes, bloom_header_bytes + w * 8, 8);
  }
  return filter;
}

}  // namespace librarian::rls
