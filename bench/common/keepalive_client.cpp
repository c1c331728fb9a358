// keepalive_client over a blocking Asio socket with SO_RCVTIMEO/SO_SNDTIMEO as the bound (Beast's
// synchronous calls have no deadline of their own).
#include "bench/common/keepalive_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "runtime/crypto/crypto.hpp"

namespace librarian::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct keepalive_client::impl {
  uint16_t port;
  std::string authorization;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::optional<tcp::socket> socket;
  beast::flat_buffer buffer;

  [[nodiscard]] beast::error_code connect() {
    socket.emplace(io);
    beast::error_code ec;
    socket->connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    if (ec) return ec;
    socket->set_option(tcp::no_delay(true), ec);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    buffer.clear();
    return {};
  }

  // One exchange on the open socket.
  [[nodiscard]] beast::error_code exchange(const bhttp::request<bhttp::string_body>& req,
                                           bhttp::response<bhttp::string_body>& res) {
    beast::error_code ec;
    bhttp::write(*socket, req, ec);
    if (ec) return ec;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(size_t{64} << 20);
    bhttp::read(*socket, buffer, parser, ec);
    if (ec) return ec;
    res = parser.release();
    return {};
  }
};

keepalive_client::keepalive_client(uint16_t port, std::string authorization,
                                   std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  impl_->authorization = std::move(authorization);
  impl_->timeout = timeout;
}

keepalive_client::~keepalive_client() = default;

expected<keepalive_reply> keepalive_client::send(std::string_view method, std::string_view target,
                                                 std::string body) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(beast::string_view{method.data(), method.size()});
  req.target(beast::string_view{target.data(), target.size()});
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::authorization, impl_->authorization);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  beast::error_code ec;
  bhttp::response<bhttp::string_body> res;
  // A kept connection may have been closed by the server's idle timeout: one fresh retry.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !impl_->socket;
    if (fresh) ec = impl_->connect();
    if (!ec) ec = impl_->exchange(req, res);
    if (!ec) break;
    impl_->socket.reset();
    if (fresh) break;
  }
  if (ec)
    return fail(errc::unavailable,
                "127.0.0.1:" + std::to_string(impl_->port) + ": " + ec.message());
  if (!res.keep_alive()) impl_->socket.reset();
  return keepalive_reply{static_cast<int>(res.result_int()), std::move(res.body())};
}

std::string keepalive_client::basic_auth(std::string_view user, std::string_view password) {
  return "Basic " + crypto::base64_encode(std::string{user} + ":" + std::string{password});
}

}  // namespace librarian::bench
