// The node's data server: the native bulk channel on the data port. Every connection opens with a
// JSON frame {"op":"attach","ticket":T,"role":"control"|"data"}; the control connection of a
// transfer negotiates (committed ranges for a resumed upload, the window of a download) and
// finishes it; data connections carry MODE E blocks. One thread per connection: transfers use a
// handful of streams, and blocking I/O on them is the cheapest path through the kernel.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "net/data/tickets.hpp"
#include "runtime/expected.hpp"

namespace librarian::data {

struct data_server_options {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0 = pick one (tests)
  unsigned connections_max = 512;
  std::chrono::milliseconds stall_timeout{120'000};
  int tcp_buffer_bytes = 0;
  uint64_t block_bytes_max = 64ull << 20;
  uint64_t sync_every_bytes = 256ull << 20;
  bool direct_io = true;  // receiver_config::direct_io of every upload
};

struct data_server_stats {
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t transfers_completed = 0;
  uint64_t transfers_failed = 0;
  uint64_t checksum_mismatches = 0;
  uint64_t connections_rejected = 0;
  uint64_t connections_open = 0;
};

class data_server {
 public:
  [[nodiscard]] static expected<std::unique_ptr<data_server>> start(
      data_server_options options, std::shared_ptr<ticket_registry> tickets);
  ~data_server();
  data_server(const data_server&) = delete;
  data_server& operator=(const data_server&) = delete;

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] data_server_stats stats() const;
  // Closes the listener and every connection, and joins their threads.
  void stop();

 private:
  struct impl;
  explicit data_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace librarian::data
