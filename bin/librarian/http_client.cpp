// Beast implementation of http_send: async operations on a private io_context, so one deadline on
// the stream bounds every step (synchronous Beast calls have no timeout).
#include "bin/librarian/http_client.hpp"

#include <optional>
#include <sstream>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace librarian::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string_view sv(beast::string_view text) {
  return {text.data(), text.size()};
}

// Runs the one pending operation on `io` to completion and returns its error code.
template <class Start>
beast::error_code run_one_step(asio::io_context& io, Start start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

error network_error(const beast::error_code& ec, const std::string& where, std::string_view step,
                    std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    std::ostringstream seconds;
    seconds << static_cast<double>(timeout.count()) / 1000.0;
    return fail(errc::timeout, "no answer from " + where + " within " + seconds.str() +
                                   " s (while " + std::string{step} +
                                   "); raise --timeout-seconds "
                                   "if the node is just slow");
  }
  std::string message = "cannot reach " + where + " (" + std::string{step} + "): " + ec.message();
  if (ec == asio::error::connection_refused)
    message += "; is the node running and is the port in the client config its http port?";
  return fail(errc::unavailable, std::move(message));
}

bhttp::request<bhttp::string_body> build_request(const std::string& host, std::string_view method,
                                                 std::string_view target, std::string body,
                                                 const header_list& headers) {
  bhttp::request<bhttp::string_body> out;
  out.method_string(beast::string_view{method.data(), method.size()});
  out.target(beast::string_view{target.data(), target.size()});
  out.version(11);
  out.set(bhttp::field::host, host);
  out.set(bhttp::field::user_agent, "librarian-cli");
  out.set(bhttp::field::accept, "application/json");
  for (const auto& [name, value] : headers) out.set(name, value);
  out.keep_alive(false);
  out.body() = std::move(body);
  out.prepare_payload();
  return out;
}

}  // namespace

expected<http_reply> http_send(const std::string& host, uint16_t port, std::string_view method,
                               std::string_view target, std::string body,
                               const header_list& headers, std::chrono::milliseconds timeout) {
  std::string where = host + ":" + std::to_string(port);
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  // Resolution is synchronous: hosts are names in a local config, normally IPs or localhost.
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return fail(errc::unavailable, "cannot resolve " + host + ": " + ec.message());
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  ec = run_one_step(io, [&](auto done) { stream.async_connect(endpoints, done); });
  if (ec) return network_error(ec, where, "connecting", timeout);
  auto request = build_request(host, method, target, std::move(body), headers);
  ec = run_one_step(io, [&](auto done) { bhttp::async_write(stream, request, done); });
  if (ec) return network_error(ec, where, "sending the request", timeout);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(reply_bytes_max);
  ec = run_one_step(io, [&](auto done) { bhttp::async_read(stream, buffer, parser, done); });
  if (ec) return network_error(ec, where, "reading the reply", timeout);
  const auto& reply = parser.get();
  http_reply out;
  out.status = static_cast<int>(reply.result_int());
  out.content_type = std::string{sv(reply[bhttp::field::content_type])};
  out.request_id = std::string{sv(reply["X-Request-Id"])};
  out.body = parser.release().body();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace librarian::cli
