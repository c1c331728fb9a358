#include <doctest/doctest.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "net/data/checksum.hpp"

using namespace librarian::data;

namespace {
std::string digest(checksum_alg alg, std::string_view data) {
  checksum_stream s(alg);
  s.update(data);
  return s.hex_digest();
}
}  // namespace

TEST_CASE("md5 and adler32 match their published test vectors") {
  CHECK(digest(checksum_alg::md5, "abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(digest(checksum_alg::md5, "") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(digest(checksum_alg::adler32, "Wikipedia") == "11e60398");
  CHECK(digest(checksum_alg::adler32, "") == "00000001");
}

TEST_CASE("a checksum streamed in random pieces equals the one-shot digest") {
  std::mt19937_64 rng(7);
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits(data.data(), data.size()));
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", canon.digest[i]);
  const std::string expect_xxh3(hex, 32);
  for (auto alg : {checksum_alg::xxh3, checksum_alg::md5, checksum_alg::adler32}) {
    const std::string whole = digest(alg, data);
    if (alg == checksum_alg::xxh3) CHECK(whole == expect_xxh3);
    checksum_stream s(alg);
    size_t pos = 0;
    while (pos < data.size()) {
      size_t n = std::min<size_t>(data.size() - pos, rng() % 200000);
      s.update(std::string_view(data).substr(pos, n));
      pos += n;
    }
    CHECK(s.bytes() == data.size());
    CHECK(s.hex_digest() == whole);
  }
}

TEST_CASE("checksum_file hashes a byte range and refuses ranges past the end") {
  auto path = std::filesystem::temp_directory_path() / "unit_data_checksum_file";
  {
    std::ofstream out(path, std::ios::binary);
    out << "hello, world";
  }
  CHECK(checksum_file(path, checksum_alg::md5).value() ==
        digest(checksum_alg::md5, "hello, world"));
  CHECK(checksum_file(path, checksum_alg::md5, 7, 5).value() == digest(checksum_alg::md5, "world"));
  CHECK_FALSE(checksum_file(path, checksum_alg::md5, 7, 50).has_value());
  CHECK(checksum_file(path.string() + ".missing", checksum_alg::md5).err().code ==
        librarian::errc::not_found);
  std::filesystem::remove(path);
}

TEST_CASE("stored checksums parse only in the ALG:::HEX form with the right length") {
  auto ok = parse_checksum("xxh3:::00112233445566778899AABBCCDDEEFF");
  REQUIRE(ok.has_value());
  CHECK(ok->alg == checksum_alg::xxh3);
  CHECK(ok->hex == "00112233445566778899aabbccddeeff");
  CHECK(format_checksum(ok->alg, ok->hex) == "xxh3:::00112233445566778899aabbccddeeff");
  CHECK_FALSE(parse_checksum("xxh3:::0011").has_value());
  CHECK_FALSE(parse_checksum("sha1:::00").has_value());
  CHECK_FALSE(parse_checksum("md5-900150983cd24fb0d6963f7d28e17f72").has_value());
  CHECK_FALSE(parse_checksum("adler32:::1234567g").has_value());
  CHECK(parse_checksum_alg("ADLER32").value() == checksum_alg::adler32);
  CHECK_FALSE(parse_checksum_alg("crc32").has_value());
}
