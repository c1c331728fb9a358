// The HTTP/1.1 server in front of the API: Beast on its own Asio threads, keep-alive, bounded
// header/body sizes, read and handler timeouts, request ids and counters for /metrics. Beast
// stays behind a pimpl so including this header costs nothing.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "net/http/message.hpp"
#include "runtime/expected.hpp"

namespace librarian::net::http {

struct server_options {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral; port() tells which one was bound
  size_t threads = 2;
  size_t body_max_bytes = size_t{1} << 20;     // larger → 413 without reading the body
  size_t header_max_bytes = size_t{16} << 10;  // larger → 431
  // A request's header and body must each arrive within this; an idle keep-alive connection is
  // closed after it too.
  std::chrono::milliseconds read_timeout{10000};
  // Without an answer by then the client gets 504 (errc::timeout); a late answer is dropped.
  std::chrono::milliseconds handler_timeout{30000};
  size_t connections_max = 1024;  // more are accepted and closed at once
};

class server {
 public:
  // Monotonic counts since start, for the Prometheus /metrics page.
  struct counters {
    std::array<uint64_t, 5> responses_by_class{};  // [0] = 1xx ... [4] = 5xx
    uint64_t bytes_in = 0;                         // request bytes parsed
    uint64_t bytes_out = 0;                        // response bytes written
    uint64_t connections_open = 0;                 // a gauge, not a count
    uint64_t connections_accepted = 0;
    uint64_t connections_refused = 0;  // closed because connections_max was reached
    uint64_t handler_timeouts = 0;     // 504s sent because the handler did not answer
  };

  // Binds and starts serving; errc::unavailable (naming address:port) when the bind fails,
  // errc::invalid_argument for a bad address or options.
  [[nodiscard]] static expected<std::unique_ptr<server>> start(server_options options,
                                                               handler_fn handler);
  ~server();  // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  [[nodiscard]] uint16_t port() const;
  // Stops accepting, closes every connection, joins the I/O threads. Returns as soon as each
  // thread finishes the handler step it is in (handlers must not block). Idempotent. Responses
  // handed to respond_fn after this are dropped. Must not be called from a handler.
  void stop();
  [[nodiscard]] counters stats() const;

  struct impl;  // defined only in server.cpp

 private:
  // A passkey: the constructor must be public for make_unique, but only start() can name (and,
  // with the explicit constructor, brace-initialize) the tag.
  struct private_tag {
    explicit private_tag() = default;
  };

 public:
  server(private_tag tag, std::unique_ptr<impl> state);

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace librarian::net::http
