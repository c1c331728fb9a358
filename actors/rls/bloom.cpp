// Bloom filter: double hashing (Kirsch & Mitzenmacher) from one XXH3-128 hash per item, so an
// insert or probe hashes the name once whatever the hash count.
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

struct probe_hashes {
  uint64_t first;
  uint64_t step;  // odd, so with a bit count that is a multiple of 64 it is never 0 mod bits
};

[[nodiscard]] probe_hashes hash_item(std::string_view item) {
  const XXH128_hash_t h = XXH3_128bits(item.data(), item.size());
  return {h.low64, h.high64 | 1};
}

}  // namespace

uint32_t optimal_hashes(uint32_t bits_per_item) {
  const double k = std::round(std::log(2.0) * static_cast<double>(bits_per_item));
  if (k < 1.0) return 1;
  if (k > static_cast<double>(bloom_hashes_max)) return bloom_hashes_max;
  return static_cast<uint32_t>(k);
}

bloom_filter::bloom_filter(uint64_t bit_count, uint32_t hash_count)
    : words_(bit_count / bits_per_word, 0), bit_count_(bit_count), hash_count_(hash_count) {
  LIB_ASSERT(bit_count > 0 && bit_count % bits_per_word == 0);
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
  bits = (bits + bits_per_word - 1) / bits_per_word * bits_per_word;
  if (bits == 0) bits = bits_per_word;
  if (bits > bits_max) return fail(errc::invalid_argument, "bloom filter exceeds its bit bound");
  return bloom_filter(bits, hash_count);
}

void bloom_filter::insert(std::string_view item) {
  auto [index, step] = hash_item(item);
  for (uint32_t i = 0; i < hash_count_; ++i) {
    const uint64_t bit = index % bit_count_;
    words_[bit / bits_per_word] |= uint64_t{1} << (bit % bits_per_word);
    index += step;
  }
  ++item_count_;
}

bool bloom_filter::possibly_contains(std::string_view item) const {
  auto [index, step] = hash_item(item);
  for (uint32_t i = 0; i < hash_count_; ++i) {
    const uint64_t bit = index % bit_count_;
    if ((words_[bit / bits_per_word] & (uint64_t{1} << (bit % bits_per_word))) == 0) return false;
    index += step;
  }
  return true;
}

std::string bloom_filter::serialize() const {
  std::string out;
  out.reserve(bloom_header_bytes + words_.size() * sizeof(uint64_t));
  out.push_back(static_cast<char>(bloom_format_version));
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
  if (static_cast<uint8_t>(bytes[0]) != bloom_format_version || get_le(bytes, 1, 3) != 0) {
    return fail(errc::invalid_argument, "bloom filter has an unknown format version");
  }
  const uint64_t hashes = get_le(bytes, 4, 4);
  const uint64_t bits = get_le(bytes, 8, 8);
  if (hashes == 0 || hashes > bloom_hashes_max) {
    return fail(errc::invalid_argument, "bloom filter hash count out of bounds");
  }
  if (bits == 0 || bits % bits_per_word != 0 || bits > bits_max) {
    return fail(errc::invalid_argument, "bloom filter of " + std::to_string(bits) +
                                            " bits refused (must be a multiple "
                                            "of 64, at most " +
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
  bloom_filter filter(bits, static_cast<uint32_t>(hashes));
  filter.item_count_ = get_le(bytes, 16, 8);
  for (size_t w = 0; w < filter.words_.size(); ++w) {
    filter.words_[w] = get_le(bytes, bloom_header_bytes + w * 8, 8);
  }
  return filter;
}

}  // namespace librarian::rls
