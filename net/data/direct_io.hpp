// Writing received blocks past the page cache. A receiver that syncs what it received before it
// reports it committed pays for the disk anyway; writing through the page cache adds a copy into
// it, its writeback, and the reclaim of pages that nobody reads again (2 GiB received to disk:
// 3.5-7 s of system time buffered against about 1 s direct). So whole blocks that are aligned go
// to the disk with O_DIRECT, and everything else -- a file's tail, odd block sizes, file systems
// that refuse O_DIRECT -- takes the ordinary descriptor.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace librarian::data {

class direct_writer {
 public:
  // O_DIRECT wants offset, length and buffer aligned to the device's logical block; 4096 covers
  // every device in use (block_buffer's allocator aligns to it).
  static constexpr uint64_t alignment = 4096;

  direct_writer() = default;
  // Opens the file behind `fd` a second time, with O_DIRECT; inactive if that is refused.
  explicit direct_writer(int fd);
  ~direct_writer();
  direct_writer(const direct_writer&) = delete;
  direct_writer& operator=(const direct_writer&) = delete;

  struct result {
    bool written = false;  // false: write these bytes through the ordinary descriptor
    int error = 0;         // errno of a failed direct write (nothing to retry buffered)
  };
  // Thread-safe. Writes all of [p, p + n) at `offset` when the three are aligned and direct
  // writes work here; a file system that refuses the first one (EINVAL) turns this writer off.
  [[nodiscard]] result write(const uint8_t* p, size_t n, uint64_t offset);
  [[nodiscard]] bool active() const { return active_.load(std::memory_order_relaxed); }

 private:
  int fd_ = -1;
  std::atomic<bool> active_{false};
};

}  // namespace librarian::data
