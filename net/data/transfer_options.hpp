// What every mover (native channel, GridFTP client, `librarian copy`) takes and reports, so the CLI
// and the transfer manager drive them alike. Option names follow globus-url-copy's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "net/data/checksum.hpp"

namespace librarian::data {

struct transfer_progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when unknown
  double seconds = 0;        // since the transfer started
};

struct transfer_options {
  unsigned streams = 4;                   // -p: parallel TCP streams (MODE E)
  uint64_t block_bytes = 1u << 20;        // -bs: bytes per block
  int tcp_buffer_bytes = 0;               // -tcp-bs: SO_SNDBUF/SO_RCVBUF, 0 = kernel default
  checksum_alg alg = checksum_alg::xxh3;  // -checksum-alg
  bool verify_checksum = true;            // -verify-checksum (inline on the native channel)
  std::chrono::milliseconds stall_timeout{600'000};  // -stall-timeout: no progress for this long
  uint64_t partial_offset = 0;                       // -partial-offset
  std::optional<uint64_t> partial_length;            // -partial-length
  bool direct_io = true;  // -buffered-io clears it: received blocks through the page cache
  std::function<void(const transfer_progress&)> on_progress;  // called from the transfer thread
};

struct transfer_report {
  uint64_t bytes = 0;          // bytes moved in this run (a resumed run moves only the rest)
  uint64_t bytes_total = 0;    // size of the file (or the partial window)
  uint64_t bytes_resumed = 0;  // bytes already committed before this run
  std::string checksum;        // "ALG:::HEX" of the whole file when verified, else ""
  double seconds = 0;
};

}  // namespace librarian::data
