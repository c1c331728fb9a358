// Order-preserving key encodings (see keys.hpp for the formats).
#include "storage/keys.hpp"

#include <cstring>

namespace librarian::storage {
namespace {

constexpr uint64_t sign_bit = uint64_t{1} << 63;
constexpr char escape_byte = '\x00';
constexpr char escaped_zero = '\xFF';
constexpr char terminator = '\x01';

}  // namespace

void append_u64(std::string& key, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    key.push_back(static_cast<char>((v >> shift) & 0xff));
}

void append_i64(std::string& key, int64_t v) {
  append_u64(key, static_cast<uint64_t>(v) ^ sign_bit);
}

void append_string(std::string& key, std::string_view s) {
  key.reserve(key.size() + s.size() + 2);
  // Runs without a NUL are copied whole (names almost never hold one).
  for (size_t nul = s.find(escape_byte); nul != std::string_view::npos; nul = s.find(escape_byte)) {
    key.append(s.data(), nul + 1);
    key.push_back(escaped_zero);
    s.remove_prefix(nul + 1);
  }
  key.append(s);
  key.push_back(escape_byte);
  key.push_back(terminator);
}

std::string u64_key(uint64_t v) {
  std::string key;
  append_u64(key, v);
  return key;
}

std::string string_key(std::string_view s) {
  std::string key;
  append_string(key, s);
  return key;
}

std::optional<size_t> first_string_size(std::string_view key) {
  // An escaped NUL is 0x00 0xFF, so the first 0x00 followed by 0x01 ends the component.
  for (size_t i = key.find(escape_byte); i != std::string_view::npos && i + 1 < key.size();
       i = key.find(escape_byte, i + 2)) {
    if (key[i + 1] == terminator) return i + 2;
  }
  return std::nullopt;
}

std::optional<std::string> prefix_successor(std::string_view prefix) {
  std::string out{prefix};
  while (!out.empty() && static_cast<uint8_t>(out.back()) == 0xff) out.pop_back();
  if (out.empty()) return std::nullopt;
  out.back() = static_cast<char>(static_cast<uint8_t>(out.back()) + 1);
  return out;
}

expected<uint64_t> key_reader::read_u64() {
  if (rest_.size() < 8)
    return fail(errc::internal, "corrupt key: " + std::to_string(rest_.size()) +
                                    " bytes left where an 8-byte integer was expected");
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(rest_[i]);
  rest_.remove_prefix(8);
  return v;
}

expected<int64_t> key_reader::read_i64() {
  auto raw = read_u64();
  if (!raw) return raw.err();
  return static_cast<int64_t>(*raw ^ sign_bit);
}

expected<std::string> key_reader::read_string() {
  // Copies the runs between escapes whole (a name rarely holds a 0x00, so usually one run).
  std::string out;
  const char* data = rest_.data();
  for (size_t i = 0; i < rest_.size();) {
    const void* hit = std::memchr(data + i, escape_byte, rest_.size() - i);
    if (hit == nullptr) break;
    const size_t at = static_cast<size_t>(static_cast<const char*>(hit) - data);
    out.append(data + i, at - i);
    if (at + 1 == rest_.size()) break;
    if (rest_[at + 1] == terminator) {
      rest_.remove_prefix(at + 2);
      return out;
    }
    if (rest_[at + 1] != escaped_zero)
      return fail(errc::internal, "corrupt key: bad escape in a string component");
    out.push_back(escape_byte);
    i = at + 2;
  }
  return fail(errc::internal, "corrupt key: string component has no terminator");
}

}  // namespace librarian::storage
