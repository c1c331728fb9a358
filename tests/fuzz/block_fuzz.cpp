// libFuzzer target: MODE E block headers as a receiver sees them. Every header is decoded and
// validated; an accepted data header must lie inside the window and the file, and an accepted
// EOF must announce a sane EOD count. The input's text is also parsed as a REST range list.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "net/data/block.hpp"
#include "net/data/range_set.hpp"
#include "runtime/assert.hpp"

using namespace librarian;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  data::block_limits limits;
  limits.block_bytes_max = 1 << 20;
  limits.file_bytes = 10'000'000;
  limits.window_begin = 1000;
  limits.window_end = 9'000'000;
  limits.eod_count_max = 64;
  for (size_t at = 0; at + data::block_header_bytes <= size; at += data::block_header_bytes) {
    auto header = data::decode(
        std::span<const uint8_t, data::block_header_bytes>{data + at, data::block_header_bytes});
    LIB_ASSERT(data::decode(data::encode(header)) == header);
    if (!data::validate(header, limits)) continue;
    if (header.has(data::block_flag::eof)) {
      LIB_ASSERT(header.offset >= 1 && header.offset <= limits.eod_count_max);
    } else if (header.length > 0) {
      LIB_ASSERT(header.length <= limits.block_bytes_max);
      LIB_ASSERT(header.offset >= limits.window_begin);
      LIB_ASSERT(header.offset + header.length <= limits.window_end);
    } else {
      LIB_ASSERT(header.has(data::block_flag::eod));
    }
  }
  std::string_view text{reinterpret_cast<const char*>(data), size};
  if (auto ranges = data::range_set::parse(text, 1000)) {
    LIB_ASSERT(ranges->size() <= 1000);
    auto again = data::range_set::parse(ranges->to_string(), 1000);
    LIB_ASSERT(again && *again == *ranges);
  }
  return 0;
}
