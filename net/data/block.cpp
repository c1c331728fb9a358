// MODE E header encoding and the checks a receiver applies before trusting a header.
#include "net/data/block.hpp"

#include <cstdio>

namespace librarian::data {
namespace {

void put_u64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t get_u64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

constexpr uint8_t known_flags = block_flag::eor | block_flag::eof | block_flag::suspect |
                                block_flag::restart_marker | block_flag::eod |
                                block_flag::sender_closes;

}  // namespace

block_header_bytes_t encode(const block_header& header) {
  block_header_bytes_t out{};
  out[0] = header.flags;
  put_u64(out.data() + 1, header.length);
  put_u64(out.data() + 9, header.offset);
  return out;
}

block_header decode(std::span<const uint8_t, block_header_bytes> bytes) {
  return block_header{bytes[0], get_u64(bytes.data() + 1), get_u64(bytes.data() + 9)};
}

std::string describe(const block_header& header) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "flags=0x%02x length=%llu offset=%llu", header.flags,
                static_cast<unsigned long long>(header.length),
                static_cast<unsigned long long>(header.offset));
  return buf;
}

status validate(const block_header& header, const block_limits& limits) {
  auto bad = [&](const char* why) {
    return fail(errc::invalid_argument,
                std::string("bad block header (") + describe(header) + "): " + why);
  };
  if ((header.flags & ~known_flags) != 0) return bad("unknown descriptor bits");
  if (header.has(block_flag::eor) || header.has(block_flag::restart_marker))
    return bad("EOR and in-band restart markers are not used in MODE E");
  if (header.has(block_flag::eof)) {
    if (header.length != 0) return bad("an EOF block carries no payload");
    if (header.offset == 0 || header.offset > limits.eod_count_max)
      return bad("EOF must announce between 1 and eod_count_max data connections");
    return {};
  }
  if (header.length > limits.block_bytes_max) return bad("block longer than the block size limit");
  if (header.offset > UINT64_MAX - header.length) return bad("offset + length overflows");
  const uint64_t end = header.offset + header.length;
  if (header.length > 0) {
    if (limits.file_bytes && end > *limits.file_bytes) return bad("block past the end of the file");
    if (header.offset < limits.window_begin || end > limits.window_end)
      return bad("block outside the transfer's byte range");
  } else if (!header.has(block_flag::eod)) {
    // An empty block that does not end the stream does nothing; a peer sending a run of them is
    // spinning the receiver, so it is refused outright.
    return bad("empty block without EOD");
  }
  return {};
}

}  // namespace librarian::data
