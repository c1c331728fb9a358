// A small synchronous HTTP/1.1 client for the CLI: one request per connection, one deadline for
// connect + write + read, and network failures mapped to errc (unavailable, timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::cli {

struct http_reply {
  int status = 0;
  std::string content_type;
  std::string request_id;  // the server's X-Request-Id, for error reports
  std::string body;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// Replies larger than this are refused rather than buffered without end.
inline constexpr size_t reply_bytes_max = size_t{64} << 20;

// Sends `method target` to host:port and waits at most `timeout` for the whole reply. Any HTTP
// status is a value; only failing to get a reply is an error: errc::unavailable (cannot resolve or
// connect, connection dropped — the message names host:port) or errc::timeout.
[[nodiscard]] expected<http_reply> http_send(const std::string& host, uint16_t port,
                                             std::string_view method, std::string_view target,
                                             std::string body, const header_list& headers,
                                             std::chrono::milliseconds timeout);

}  // namespace librarian::cli
