// Beast implementation of http_transport: asynchronous steps on a private io_context so a single
// deadline on the TCP stream bounds every step (Beast's synchronous calls have no timeout).
#include "net/globus/http_transport.hpp"

#include <charconv>
#include <optional>
#include <utility>  // Boost 1.74 asio/awaitable.hpp needs std::exchange in C++20

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace librarian::globus {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string base_url::to_string() const {
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string{tls ? "https://" : "http://"} + shown + ":" + std::to_string(port) + path;
}

bool base_url::is_loopback() const {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

namespace {

bool host_char_ok(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

// Splits "host[:port]" or "[v6]:port"; fills out.host and out.port.
status parse_authority(std::string_view authority, base_url& out, std::string_view whole) {
  auto bad = [&](std::string_view why) {
    return fail(errc::invalid_argument, "URL \"" + std::string{whole} + "\": " + std::string{why});
  };
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [IPv6] host");
    out.host = std::string{authority.substr(1, close - 1)};
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("junk after the [IPv6] host");
      port_text = rest.substr(1);
    }
    boost::system::error_code ec;
    (void)asio::ip::make_address_v6(out.host, ec);
    if (ec) return bad("not an IPv6 address");
  } else {
    size_t colon = authority.find(':');
    out.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (out.host.empty()) return bad("no host");
    for (char c : out.host)
      if (!host_char_ok(c)) return bad("the host has a character outside [A-Za-z0-9.-]");
  }
  if (port_text.empty()) return {};
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return bad("the port must be a number in 1..65535");
  out.port = static_cast<uint16_t>(port);
  return {};
}

}  // namespace

expected<base_url> parse_base_url(std::string_view text) {
  base_url out;
  std::string_view rest;
  if (text.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    out.tls = false;
    out.port = 80;
    rest = text.substr(7);
  } else {
    return fail(errc::invalid_argument,
                "URL \"" + std::string{text} + "\" must start with https:// (or http://)");
  }
  if (rest.find_first_of("?#@ \t\r\n") != std::string_view::npos)
    return fail(errc::invalid_argument, "URL \"" + std::string{text} +
                                            "\" must not hold user info, a query, a fragment "
                                            "or white space");
  size_t slash = rest.find('/');
  if (auto st = parse_authority(rest.substr(0, slash), out, text); !st) return st.err();
  if (slash != std::string_view::npos) out.path = std::string{rest.substr(slash)};
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  return out;
}

namespace {

template <class Start>
beast::error_code run_one_step(asio::io_context& io, Start start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

error network_error(const beast::error_code& ec, const http_call& call, std::string_view step) {
  std::string where = call.server.to_string();
  if (ec == beast::error::timeout)
    return fail(errc::timeout, "no answer from " + where + " within " +
                                   std::to_string(call.timeout.count()) + " ms (while " +
                                   std::string{step} + ")");
  return fail(errc::unavailable,
              "cannot reach " + where + " (" + std::string{step} + "): " + ec.message());
}

bhttp::request<bhttp::string_body> build_request(const http_call& call) {
  bhttp::request<bhttp::string_body> out;
  out.method_string(call.method);
  out.target(call.target);
  out.version(11);
  bool default_port = call.server.port == (call.server.tls ? 443 : 80);
  std::string host = call.server.host.find(':') != std::string::npos ? "[" + call.server.host + "]"
                                                                     : call.server.host;
  out.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(call.server.port));
  out.set(bhttp::field::user_agent, "librarian-globus");
  out.set(bhttp::field::accept, "application/json");
  for (const auto& [name, value] : call.headers) out.set(name, value);
  out.keep_alive(false);
  out.body() = call.body;
  out.prepare_payload();
  return out;
}

// Shared by every call: loading the system's trust store once is enough.
ssl::context& client_tls_context() {
  static ssl::context context = [] {
    ssl::context c{ssl::context::tls_client};
    c.set_default_verify_paths();
    c.set_verify_mode(ssl::verify_peer);
    c.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                  ssl::context::no_tlsv1_1);
    return c;
  }();
  return context;
}

// Writes the request and reads the reply on an already connected (and handshaken) stream.
template <class Stream>
expected<http_reply> exchange(asio::io_context& io, Stream& stream, const http_call& call) {
  auto request = build_request(call);
  auto ec = run_one_step(io, [&](auto done) { bhttp::async_write(stream, request, done); });
  if (ec) return network_error(ec, call, "sending the request");
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(http_reply_bytes_max);
  ec = run_one_step(io, [&](auto done) { bhttp::async_read(stream, buffer, parser, done); });
  if (ec) return network_error(ec, call, "reading the reply");
  http_reply out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = parser.release().body();
  return out;
}

}  // namespace

expected<http_reply> beast_transport(const http_call& call) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  // Synchronous resolution: hosts come from the configuration (a name the resolver caches).
  auto endpoints = resolver.resolve(call.server.host, std::to_string(call.server.port), ec);
  if (ec) return network_error(ec, call, "resolving the host");
  if (!call.server.tls) {
    beast::tcp_stream stream(io);
    stream.expires_after(call.timeout);
    ec = run_one_step(io, [&](auto done) { stream.async_connect(endpoints, done); });
    if (ec) return network_error(ec, call, "connecting");
    auto reply = exchange(io, stream, call);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return reply;
  }
  beast::ssl_stream<beast::tcp_stream> stream(io, client_tls_context());
  beast::get_lowest_layer(stream).expires_after(call.timeout);
  // SNI, and the certificate must name the host we asked for.
  if (!SSL_set_tlsext_host_name(stream.native_handle(), call.server.host.c_str()))
    return fail(errc::unavailable, "cannot set the TLS server name for " + call.server.host);
  stream.set_verify_callback(ssl::host_name_verification(call.server.host));
  ec = run_one_step(
      io, [&](auto done) { beast::get_lowest_layer(stream).async_connect(endpoints, done); });
  if (ec) return network_error(ec, call, "connecting");
  ec = run_one_step(io, [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); });
  if (ec) return network_error(ec, call, "the TLS handshake");
  auto reply = exchange(io, stream, call);
  // The reply is complete (Content-Length or chunked end); a slow close_notify is not waited for.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  run_one_step(io, [&](auto done) { stream.async_shutdown(done); });
  return reply;
}

}  // namespace librarian::globus
