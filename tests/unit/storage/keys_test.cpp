// Key encodings: byte order of encoded keys equals tuple order of their parts.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "storage/keys.hpp"

using namespace librarian;
using namespace librarian::storage;

namespace {

using tuple_key = std::tuple<std::string, int64_t, uint64_t, std::string>;

std::string encode_key(const tuple_key& t) {
  std::string key;
  append_string(key, std::get<0>(t));
  append_i64(key, std::get<1>(t));
  append_u64(key, std::get<2>(t));
  append_string(key, std::get<3>(t));
  return key;
}

// Small alphabets with the bytes that matter (0x00, 0x01, 0xFF) make collisions of prefixes and
// escapes common, which is where an encoding goes wrong.
std::string random_string(std::mt19937_64& rng) {
  static const std::string alphabet{'\x00', '\x01', 'a', 'b', '\x7f', '\x80', '\xfe', '\xff'};
  std::string s(rng() % 5, '\0');
  for (auto& c : s) c = alphabet[rng() % alphabet.size()];
  return s;
}

int64_t random_i64(std::mt19937_64& rng) {
  static const int64_t edges[] = {INT64_MIN, INT64_MIN + 1, -256, -1, 0, 1, 255, INT64_MAX};
  return rng() % 2 ? edges[rng() % 8] : static_cast<int64_t>(rng());
}

uint64_t random_u64(std::mt19937_64& rng) {
  static const uint64_t edges[] = {0, 1, 255, 256, UINT64_MAX - 1, UINT64_MAX};
  return rng() % 2 ? edges[rng() % 6] : rng() % 1000;
}

}  // namespace

TEST_CASE("encoded composite keys sort exactly like their tuples") {
  std::mt19937_64 rng{20240611};
  for (int i = 0; i < 20000; ++i) {
    tuple_key a{random_string(rng), random_i64(rng), random_u64(rng), random_string(rng)};
    tuple_key b = a;
    // Often share leading parts so later parts decide.
    switch (rng() % 4) {
      case 0:
        b = {random_string(rng), random_i64(rng), random_u64(rng), random_string(rng)};
        break;
      case 1:
        std::get<1>(b) = random_i64(rng);
        [[fallthrough]];
      case 2:
        std::get<2>(b) = random_u64(rng);
        [[fallthrough]];
      default:
        std::get<3>(b) = random_string(rng);
    }
    const auto ka = encode_key(a);
    const auto kb = encode_key(b);
    REQUIRE((a < b) == (ka < kb));
    REQUIRE((a == b) == (ka == kb));
  }
}

TEST_CASE("key_reader reads back every part") {
  std::mt19937_64 rng{7};
  for (int i = 0; i < 2000; ++i) {
    tuple_key t{random_string(rng), random_i64(rng), random_u64(rng), random_string(rng)};
    const auto key = encode_key(t);
    key_reader reader{key};
    auto s0 = reader.read_string();
    auto i1 = reader.read_i64();
    auto u2 = reader.read_u64();
    auto s3 = reader.read_string();
    REQUIRE(s0);
    REQUIRE(i1);
    REQUIRE(u2);
    REQUIRE(s3);
    CHECK(tuple_key{*s0, *i1, *u2, *s3} == t);
    CHECK(reader.done());
  }
}

TEST_CASE("key_reader rejects malformed keys") {
  CHECK_FALSE(key_reader{"abc"}.read_u64());
  CHECK_FALSE(key_reader{"abc"}.read_string());  // no terminator
  const std::string bad_escape{"a\0\x05", 3};
  CHECK_FALSE(key_reader{bad_escape}.read_string());
  auto err = key_reader{"x"}.read_i64();
  REQUIRE_FALSE(err);
  CHECK(err.err().code == errc::internal);
  CHECK(err.err().message.find("corrupt key") != std::string::npos);
}

TEST_CASE("integers encode big-endian and negatives sort first") {
  CHECK(u64_key(0x0102030405060708ull) == std::string{"\x01\x02\x03\x04\x05\x06\x07\x08"});
  std::vector<int64_t> values{INT64_MAX, -5, 0, INT64_MIN, 3, -1};
  std::vector<std::string> keys;
  for (auto v : values) {
    std::string k;
    append_i64(k, v);
    keys.push_back(k);
  }
  std::sort(values.begin(), values.end());
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < values.size(); ++i) CHECK(*key_reader{keys[i]}.read_i64() == values[i]);
}

TEST_CASE("prefix_successor is the smallest string above the prefix range") {
  CHECK(prefix_successor("abc") == std::optional<std::string>{"abd"});
  CHECK(prefix_successor(std::string{"a\xff\xff"}) == std::optional<std::string>{"b"});
  CHECK(prefix_successor(std::string{"\xff\xff"}) == std::nullopt);
  CHECK(prefix_successor("") == std::nullopt);
  CHECK(prefix_successor(std::string{"a\xfe"}) == std::optional<std::string>{"a\xff"});
  // Every extension of the prefix is below the successor.
  auto succ = *prefix_successor(std::string{"k\xff"});
  CHECK(std::string{"k\xff\xff\xff\xff"} < succ);
  CHECK(std::string{"k"} < succ);
}

TEST_CASE("first_string_size measures a key's leading string component") {
  CHECK(first_string_size(string_key("lfn")) == std::optional<size_t>{5});
  std::string pair = string_key("a");
  append_string(pair, "b");
  CHECK(first_string_size(pair) == std::optional<size_t>{3});
  // An escaped NUL (0x00 0xFF) does not end the component.
  std::string with_nul = string_key(std::string{"x\0y", 3});
  CHECK(first_string_size(with_nul) == std::optional<size_t>{with_nul.size()});
  append_u64(with_nul, 7);
  CHECK(first_string_size(with_nul) == std::optional<size_t>{6});
  // No complete component: a bare name, a cut terminator, nothing.
  CHECK(first_string_size("lfn") == std::nullopt);
  CHECK(first_string_size(std::string{"lfn\0", 4}) == std::nullopt);
  CHECK(first_string_size(std::string{"x\0\xff", 3}) == std::nullopt);
  CHECK(first_string_size("") == std::nullopt);
}
