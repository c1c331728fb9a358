// A blocking HTTP/1.1 client that keeps its connection open between requests, as a load
// generator or a library client would (the CLI opens one connection per request). One per client
// thread; every call is bounded by the socket timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/expected.hpp"

namespace librarian::bench {

struct keepalive_reply {
  int status = 0;
  std::string body;
};

class keepalive_client {
 public:
  // authorization: the Authorization header's value ("Basic ..."), sent with every request.
  keepalive_client(uint16_t port, std::string authorization,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~keepalive_client();
  keepalive_client(const keepalive_client&) = delete;
  keepalive_client& operator=(const keepalive_client&) = delete;

  // Sends one request on 127.0.0.1:port, (re)connecting when needed; a connection the server
  // closed while idle is retried once. Any HTTP status is a value; errc::unavailable otherwise.
  [[nodiscard]] expected<keepalive_reply> send(std::string_view method, std::string_view target,
                                               std::string body = {});

  // "Basic base64(user:password)".
  [[nodiscard]] static std::string basic_auth(std::string_view user, std::string_view password);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace librarian::bench
