// The sending end of a transfer: one reader walks the window in file order (so the checksum is
// computed in the same pass that reads the bytes) and hands blocks to N stream threads through a
// bounded queue; blocks the receiver already holds are read for the checksum but not sent. Each
// stream ends with an EOD block.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "net/data/buffer_pool.hpp"
#include "net/data/checksum.hpp"
#include "net/data/range_set.hpp"
#include "runtime/expected.hpp"

namespace librarian::data {

struct send_job {
  int file_fd = -1;       // read with pread; the caller owns it
  std::string file_name;  // for errors
  uint64_t window_begin = 0;
  uint64_t window_length = 0;
  range_set skip;  // source ranges the receiver already has
  checksum_alg alg = checksum_alg::xxh3;
  bool hash = true;
  uint64_t block_bytes = 1u << 20;
  // Subtracted from every block's offset on the wire: a partial upload of [o, o+n) arrives as the
  // receiver's 0..n.
  uint64_t wire_offset_shift = 0;
  std::function<void(uint64_t bytes_sent)> on_sent;  // from stream threads; cheap, thread-safe
  // Hash from a read-only mapping and send payloads with sendfile(2): no user-space copy of the
  // bytes on this side. Falls back to buffered reads when the file cannot be mapped, and is not
  // used when every stream's peer is on loopback (see peer_is_loopback): a process on this host
  // receives blocks read into buffers faster, and both ends spend less CPU (2 GiB over 4
  // streams: 2.0-2.15 against 1.2-1.3 GB/s, the sending node 0.8 against 1.75 CPU-seconds).
  bool zero_copy = true;
};

// Sends the window over the given connected sockets (one thread per socket; the caller's thread
// reads). Returns "ALG:::HEX" of the whole window ("" when hash is false).
[[nodiscard]] expected<std::string> send_blocks(const send_job& job,
                                                std::span<const int> stream_fds, buffer_pool& pool);

// Test-only fault hook: when the environment variable LIBRARIAN_FAULT_CORRUPT_ONCE holds a byte
// offset, the first block sent that contains it is corrupted in flight (after hashing), once per
// process. Integration tests use it to prove a corrupt block never reaches the final name.
[[nodiscard]] std::optional<uint64_t> corrupt_once_offset();

}  // namespace librarian::data
