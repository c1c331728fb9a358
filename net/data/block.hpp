// The MODE E block header (GridFTP's extended block mode, and our native data channel's framing):
// 8-bit descriptor, 64-bit byte count, 64-bit offset, all big-endian. Blocks carry their own
// offset, so N streams may deliver them in any order and the receiver writes each at its place.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "runtime/expected.hpp"

namespace librarian::data {

// Descriptor bits as the GridFTP extensions document defines them.
namespace block_flag {
inline constexpr uint8_t eor = 128;            // legacy end of record; we never send it
inline constexpr uint8_t eof = 64;             // offset field = number of EODs to expect
inline constexpr uint8_t suspect = 32;         // sender suspects errors in this block
inline constexpr uint8_t restart_marker = 16;  // unused in MODE E (markers go on control)
inline constexpr uint8_t eod = 8;              // no more data on this connection
inline constexpr uint8_t sender_closes = 4;    // sender will close the connection after EOD
}  // namespace block_flag

inline constexpr size_t block_header_bytes = 17;

struct block_header {
  uint8_t flags = 0;
  uint64_t length = 0;  // payload bytes that follow the header
  uint64_t offset = 0;  // file offset of the payload (or, with eof, the EOD count)

  [[nodiscard]] bool has(uint8_t flag) const { return (flags & flag) != 0; }
  friend bool operator==(const block_header&, const block_header&) = default;
};

using block_header_bytes_t = std::array<uint8_t, block_header_bytes>;

[[nodiscard]] block_header_bytes_t encode(const block_header& header);
[[nodiscard]] block_header decode(std::span<const uint8_t, block_header_bytes> bytes);

// What a receiver accepts. A header read from the network is validated before a single payload
// byte is read or written: no block past the announced size, no offset overflow, no oversized
// block, no unknown descriptor bits, no endless run of empty blocks.
struct block_limits {
  uint64_t block_bytes_max = 64ull << 20;
  // The file's size when the receiver knows it (uploads announce it); nullopt = unknown.
  std::optional<uint64_t> file_bytes;
  // The window [window_begin, window_end) the transfer may touch (partial transfers).
  uint64_t window_begin = 0;
  uint64_t window_end = UINT64_MAX;
  uint32_t eod_count_max = 256;
};

// Checks one data-carrying or control header against the limits; the error says what was wrong.
[[nodiscard]] status validate(const block_header& header, const block_limits& limits);

// "flags=0x40 length=0 offset=4" for logs and errors.
[[nodiscard]] std::string describe(const block_header& header);

}  // namespace librarian::data
