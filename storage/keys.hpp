// Order-preserving key encodings: a composite key built from these parts sorts, as bytes, exactly
// like the tuple of its parts, so prefix and range scans serve queries (names, time ranges).
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/expected.hpp"

namespace librarian::storage {

// 8 bytes, big-endian.
void append_u64(std::string& key, uint64_t v);
// 8 bytes, big-endian with the sign bit flipped, so negatives sort before positives.
void append_i64(std::string& key, int64_t v);
// Escaped and terminated so the component ends unambiguously and shorter strings sort first:
// 0x00 -> 0x00 0xFF, then the terminator 0x00 0x01.
void append_string(std::string& key, std::string_view s);

// A key built from one part, for the common single-component case.
[[nodiscard]] std::string u64_key(uint64_t v);
[[nodiscard]] std::string string_key(std::string_view s);

// The size of a key's leading string component (append_string's bytes, terminator included), or
// nullopt when the key does not start with a complete one.
[[nodiscard]] std::optional<size_t> first_string_size(std::string_view key);

// The smallest string greater than every string that starts with prefix; nullopt when there is
// none (prefix empty or all 0xFF), i.e. the scan runs to the end of the table.
[[nodiscard]] std::optional<std::string> prefix_successor(std::string_view prefix);

// Reads the parts of a composite key back in order. Keys come from disk, so a malformed key is an
// error (errc::internal "corrupt key: ..."), never an assertion.
class key_reader {
 public:
  explicit key_reader(std::string_view key) : rest_(key) {}
  // The reader views the key; a temporary string would dangle before the first read.
  template <class S>
  requires std::same_as<S, std::string>
  explicit key_reader(S&&) = delete;

  [[nodiscard]] expected<uint64_t> read_u64();
  [[nodiscard]] expected<int64_t> read_i64();
  [[nodiscard]] expected<std::string> read_string();

  [[nodiscard]] bool done() const { return rest_.empty(); }
  [[nodiscard]] std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace librarian::storage
