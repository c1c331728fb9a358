// GridFTP data connections: stream mode (MODE S) and extended block mode (MODE E) senders and
// receivers over blocking Asio sockets, one thread per connection. Shared by the server and the
// client, so both ends frame, validate and commit blocks the same way.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "net/data/block.hpp"
#include "net/data/direct_io.hpp"
#include "net/data/range_set.hpp"
#include "net/gridftp/command.hpp"
#include "runtime/expected.hpp"

namespace librarian::gridftp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Aborts the blocking socket calls of one transfer from another thread (stop, stall, error):
// shutdown(2) on a registered descriptor wakes a thread blocked in recv/send/accept on it.
class transfer_control {
 public:
  void attach(int fd);
  void detach(int fd);
  void cancel(error why);
  [[nodiscard]] bool cancelled() const { return cancelled_.load(); }
  [[nodiscard]] std::optional<error> why() const;
  std::atomic<uint64_t> bytes{0};  // payload bytes moved so far

 private:
  mutable std::mutex mutex_;
  std::vector<int> fds_;
  std::atomic<bool> cancelled_{false};
  std::optional<error> why_;
};

// Sets SO_SNDBUF/SO_RCVBUF (0 = leave the kernel's autotuning alone) and send/receive timeouts,
// so a silent peer makes a blocking call fail instead of hanging (stall detection).
void tune_socket(int fd, int buffer_bytes, std::chrono::milliseconds io_timeout);

// Connects with a deadline (a plain blocking connect can hang for minutes on a dead host);
// gives up early when ctl (optional) is cancelled.
[[nodiscard]] expected<tcp::socket> connect_with_timeout(asio::io_context& io, const host_port& to,
                                                         std::chrono::milliseconds timeout,
                                                         int buffer_bytes,
                                                         const transfer_control* ctl = nullptr);
// A listening socket on `address` (port 0 = ephemeral).
[[nodiscard]] expected<tcp::acceptor> listen_on(asio::io_context& io,
                                                const asio::ip::address& address, int buffer_bytes);
// Accepts one connection, waiting at most `timeout`; gives up early when ctl is cancelled.
[[nodiscard]] expected<tcp::socket> accept_with_timeout(tcp::acceptor& acceptor,
                                                        std::chrono::milliseconds timeout,
                                                        transfer_control& ctl);

// What a sender reads: the file (or memfd) and the file ranges still to send. The wire offset
// of a byte is its file offset minus wire_base (ERET's partial transfers count from 0).
struct send_job {
  int fd = -1;
  std::vector<data::range_set::range> ranges;
  uint64_t wire_base = 0;
  uint64_t block_bytes = 256 * 1024;
  // Copy payloads through a buffer instead of sendfile when the peer is on loopback (see
  // data::peer_is_loopback); false sends every peer the page-cache pages (tests use it to cover
  // that path over loopback).
  bool copy_for_loopback = true;
};

// Sets SIGPIPE to ignored, once per process (sendfile cannot suppress it per call).
void ignore_sigpipe();

// MODE E: spreads blocks over every socket (sendfile for the payload, see send_job), then sends EOD
// on each and EOF (with the EOD count) on the first, as globus-gridftp-server does. Closes the
// sockets, unless keep_open and the transfer succeeded (data channel caching: the next transfer of
// the session may reuse them).
[[nodiscard]] status send_mode_e(std::vector<tcp::socket>& sockets, const send_job& job,
                                 transfer_control& ctl, bool keep_open = false);
// MODE S: the bytes of the (single, contiguous) range in order, then close.
[[nodiscard]] status send_stream(tcp::socket& socket, const send_job& job, transfer_control& ctl);

// MODE E receiver: one thread per data connection; writes every validated block with pwrite at
// file_base + wire offset, and records the ranges it wrote. Done when EOF has announced the EOD
// count and that many EODs arrived.
class mode_e_receiver {
 public:
  // direct_io: aligned blocks are written with O_DIRECT (data::direct_writer).
  mode_e_receiver(int fd, data::block_limits limits, uint64_t file_base, transfer_control& ctl,
                  bool direct_io = true);
  ~mode_e_receiver();  // cancels and joins
  mode_e_receiver(const mode_e_receiver&) = delete;
  mode_e_receiver& operator=(const mode_e_receiver&) = delete;

  // Starts a reader thread for this connection; refused beyond the EOD limit.
  [[nodiscard]] status add_connection(tcp::socket socket);
  // Waits until done, failed or the timeout passes; true when finished (check result()).
  bool wait_for(std::chrono::milliseconds timeout);
  [[nodiscard]] bool finished() const;
  // The error that ended the transfer, or ok once every EOD arrived.
  [[nodiscard]] status result() const;
  // Every range written so far (not yet synced: callers fdatasync before reporting them).
  [[nodiscard]] data::range_set written() const;
  [[nodiscard]] size_t connections() const;
  // Connections that ended with EOD but stay open for reuse by the next transfer (the sender did
  // not set "sender will close"). Call after the transfer finished.
  [[nodiscard]] std::vector<tcp::socket> take_idle();
  // Stops reading, joins every thread.
  void stop();

 private:
  void read_connection(tcp::socket socket);
  void finish_with(error err);

  int fd_;
  data::direct_writer direct_;  // aligned blocks go past the page cache
  data::block_limits limits_;
  uint64_t file_base_;
  transfer_control& ctl_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  data::range_set written_;
  std::optional<uint64_t> eods_expected_;
  uint64_t eods_seen_ = 0;
  std::optional<error> failure_;
  std::vector<tcp::socket> idle_;
  std::vector<std::thread> threads_;
};

// MODE S receiver: reads to EOF, writing sequentially from file_offset; returns the bytes read.
[[nodiscard]] expected<uint64_t> receive_stream(tcp::socket& socket, int fd, uint64_t file_offset,
                                                std::optional<uint64_t> bytes_max,
                                                transfer_control& ctl);

}  // namespace librarian::gridftp
