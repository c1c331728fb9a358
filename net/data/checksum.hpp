// Streaming checksums, computed while bytes move (never as a second pass): xxh3-128 by default,
// md5 and adler32 for interoperability with GridFTP peers (CKSM) and the reference librarian.
// Stored form: "ALG:::<lowercase hex>", e.g. "xxh3:::3b9f…" (the reference librarian's layout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runtime/expected.hpp"

namespace librarian::data {

enum class checksum_alg : uint8_t { xxh3 = 0, md5 = 1, adler32 = 2 };

// "xxh3", "md5", "adler32" (the names CKSM and the CLI use; parsing ignores case and also takes
// "xxh3-128" and "xxh128").
[[nodiscard]] std::string_view name(checksum_alg alg);
[[nodiscard]] expected<checksum_alg> parse_checksum_alg(std::string_view text);

class checksum_stream {
 public:
  explicit checksum_stream(checksum_alg alg = checksum_alg::xxh3);
  ~checksum_stream();
  checksum_stream(checksum_stream&&) noexcept;
  checksum_stream& operator=(checksum_stream&&) noexcept;

  void update(std::span<const uint8_t> bytes);
  void update(std::string_view bytes);
  // Lowercase hex of the digest; the stream may not be updated afterwards.
  [[nodiscard]] std::string hex_digest();
  [[nodiscard]] checksum_alg alg() const { return alg_; }
  [[nodiscard]] uint64_t bytes() const { return bytes_; }

 private:
  struct impl;
  checksum_alg alg_;
  uint64_t bytes_ = 0;
  std::unique_ptr<impl> impl_;
};

// "xxh3:::<hex>"
[[nodiscard]] std::string format_checksum(checksum_alg alg, std::string_view hex);

struct parsed_checksum {
  checksum_alg alg;
  std::string hex;
};
// Accepts "ALG:::<hex>" with the right digest length for ALG.
[[nodiscard]] expected<parsed_checksum> parse_checksum(std::string_view text);

// Hashes [offset, offset+length) of a file (length nullopt = to the end) with one buffered pass.
// For CKSM, validate-file and check_integrity, which run off the actor threads.
[[nodiscard]] expected<std::string> checksum_file(const std::filesystem::path& path,
                                                  checksum_alg alg, uint64_t offset = 0,
                                                  std::optional<uint64_t> length = std::nullopt);

}  // namespace librarian::data
