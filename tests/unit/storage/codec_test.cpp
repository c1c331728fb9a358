// Record codec: round trips, and corrupt values rejected with an error instead of a crash.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "storage/codec.hpp"

using namespace librarian;
using namespace librarian::storage;

namespace {

struct file_record {
  static constexpr uint8_t schema_version = 3;
  std::string name;
  uint64_t size_bytes = 0;
  int64_t created_ms = 0;
  std::vector<std::string> stores;
  std::map<std::string, std::string> attributes;
  std::optional<std::string> checksum;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, size_bytes, created_ms, stores, attributes, checksum);
  }
  friend bool operator==(const file_record&, const file_record&) = default;
};

struct other_record {
  static constexpr uint8_t schema_version = 4;
  uint64_t n = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(n);
  }
};

file_record sample() {
  return {"raw/2459122/zen.2459122.1.uvh5",    1u << 30,  -42, {"store-a", "store-b"},
          {{"obs", "2459122"}, {"pol", "xx"}}, "md5:abcd"};
}

}  // namespace

// A record whose serialize encodes another record, as a nested use of the encoder would.
struct nesting_record {
  static constexpr uint8_t schema_version = 1;
  other_record inner;
  template <class Archive>
  void serialize(Archive& ar) {
    std::string inner_bytes = encode(inner);
    ar(inner_bytes);
  }
};

TEST_CASE("encoding writes the same bytes as a fresh stream would, also when nested") {
  other_record r{0x0102};
  // The on-disk format: version byte, cereal's endianness byte, then the value little-endian.
  CHECK(encode(r) == std::string{"\x04\x01\x02\x01\0\0\0\0\0\0", 10});
  nesting_record outer{other_record{7}};
  auto bytes = encode(outer);
  // version, endianness, the inner bytes' length (8 bytes), then the inner record's 10 bytes.
  REQUIRE(bytes.size() == 1 + 1 + 8 + 10);
  CHECK(bytes.substr(10) == encode(other_record{7}));
  CHECK(encode(r) == std::string{"\x04\x01\x02\x01\0\0\0\0\0\0", 10});
}

TEST_CASE("a record survives encode and decode") {
  const auto bytes = encode(sample());
  CHECK(static_cast<uint8_t>(bytes.front()) == file_record::schema_version);
  auto back = decode<file_record>(bytes);
  REQUIRE(back);
  CHECK(*back == sample());
  auto empty = decode<file_record>(encode(file_record{}));
  REQUIRE(empty);
  CHECK(*empty == file_record{});
}

TEST_CASE("corrupt values are rejected as corrupt records") {
  const auto bytes = encode(sample());
  auto expect_corrupt = [](const expected<file_record>& r) {
    REQUIRE_FALSE(r);
    CHECK(r.err().code == errc::internal);
    CHECK(r.err().message.find("corrupt record") != std::string::npos);
  };
  expect_corrupt(decode<file_record>(""));
  SUBCASE("wrong schema version") {
    auto r = decode<file_record>(encode(other_record{7}));
    expect_corrupt(r);
    CHECK(r.err().message.find("schema version 4") != std::string::npos);
  }
  SUBCASE("every truncation") {
    for (size_t len = 1; len < bytes.size(); ++len)
      expect_corrupt(decode<file_record>(std::string_view{bytes}.substr(0, len)));
  }
  SUBCASE("trailing garbage") {
    expect_corrupt(decode<file_record>(bytes + "zz"));
  }
  SUBCASE("a huge length prefix") {
    // The name's 8-byte length follows the version byte and cereal's endianness byte.
    auto bad = bytes;
    for (size_t i = 2; i < 10; ++i) bad[i] = '\xff';
    expect_corrupt(decode<file_record>(bad));
  }
}
