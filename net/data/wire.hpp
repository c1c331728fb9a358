// Blocking socket helpers for the data channel: whole reads and writes with a stall timeout, and
// the length-prefixed JSON frames that open every connection and carry the control dialogue
// (4-byte big-endian length, then a JSON object of at most frame_bytes_max bytes).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/data/block.hpp"
#include "runtime/expected.hpp"

namespace librarian::data {

inline constexpr uint32_t frame_bytes_max = 64 * 1024;

// SO_RCVTIMEO/SO_SNDTIMEO: a peer that sends or accepts nothing for this long is stalled.
void set_stall_timeout(int fd, std::chrono::milliseconds timeout);
void set_tcp_buffers(int fd, int bytes);
void set_nodelay(int fd);
// The connected peer of a socket is a loopback address (127.0.0.0/8, ::1, or v4-mapped
// loopback). Senders copy rather than sendfile to such peers: the receiving process would copy
// out of the very page-cache pages the sender handed to TCP, and sharing their references
// across two processes costs both more than one copy does.
[[nodiscard]] bool peer_is_loopback(int fd);
// sendfile(2) has no MSG_NOSIGNAL: a peer that hangs up would kill the process with SIGPIPE.
// The data server and client call this (once per process) so it becomes an EPIPE error.
void ignore_sigpipe();

[[nodiscard]] status write_all(int fd, const void* data, size_t n);
// Header + payload in one writev.
[[nodiscard]] status write_block(int fd, const block_header& header, const uint8_t* payload);
// Fills exactly n bytes; a clean EOF before the first byte gives not_found ("peer closed").
[[nodiscard]] status read_exact(int fd, void* data, size_t n);

[[nodiscard]] status send_frame(int fd, const nlohmann::json& message);
[[nodiscard]] expected<nlohmann::json> recv_frame(int fd);
// The bytes send_frame writes, to batch several frames into one write.
void append_frame(std::string& out, const nlohmann::json& message);

// Reads frames and raw bytes from a socket through a buffer, so a stream of small replies (one
// per file of a tree) costs one recv per buffer-full instead of two or three per reply. Nothing
// else may read the socket while one is in use.
class buffered_reader {
 public:
  static constexpr size_t direct_read_bytes = 16 * 1024;
  explicit buffered_reader(int fd, size_t capacity = size_t{64} << 10);
  [[nodiscard]] status read_exact(void* data, size_t n);
  [[nodiscard]] expected<nlohmann::json> recv_frame();

 private:
  [[nodiscard]] status fill();
  int fd_;
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

// {"ok": false, "error": NAME, "message": ...} <-> librarian::error
[[nodiscard]] nlohmann::json error_frame(const error& err);
// An "ok": false frame becomes its error; anything that is not an object with "ok" is invalid.
[[nodiscard]] status check_reply(const nlohmann::json& reply);

// Connects to host:port (numeric or name) with a timeout; returns the socket fd.
[[nodiscard]] expected<int> connect_tcp(const std::string& host, uint16_t port,
                                        std::chrono::milliseconds timeout);

}  // namespace librarian::data
