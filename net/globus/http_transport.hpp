// The one HTTP(S) exchange the Globus client needs, behind a function type so tests and the
// simulator can answer in-process (FoundationDB's one interface, two implementations). The real
// transport is Boost.Beast over TCP, with OpenSSL for https:// (peer and host name verified).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::globus {

// A base URL from the configuration: "https://transfer.api.globus.org/v0.10".
struct base_url {
  bool tls = true;
  std::string host;
  uint16_t port = 443;
  std::string path;  // "" or "/v0.10" (never a trailing '/')

  [[nodiscard]] std::string to_string() const;
  // Plain http:// is allowed only towards this machine (the stand-in): a secret must never cross
  // a network in clear text.
  [[nodiscard]] bool is_loopback() const;
};

// http:// or https://, a host (name, IPv4, or [IPv6]), an optional port, an optional path; no
// user info, query or fragment. invalid_argument otherwise.
[[nodiscard]] expected<base_url> parse_base_url(std::string_view text);

struct http_call {
  std::string method;  // "GET", "POST"
  base_url server;
  std::string target;  // path and query, already percent-encoded: "/v0.10/task/ID"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};  // bounds the whole exchange
};

struct http_reply {
  int status = 0;
  std::string body;
};

// A reply of any status is a value; only "no reply at all" is an error: errc::unavailable
// (cannot connect, TLS failure, connection lost) or errc::timeout.
using http_transport = std::function<expected<http_reply>(const http_call&)>;

inline constexpr size_t http_reply_bytes_max = size_t{8} << 20;

// The real transport: one connection per call (calls are seconds apart), no redirects.
[[nodiscard]] expected<http_reply> beast_transport(const http_call& call);

}  // namespace librarian::globus
