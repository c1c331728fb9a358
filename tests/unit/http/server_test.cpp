// The HTTP server over real loopback sockets: answers, request ids, limits, timeouts, keep-alive,
// connection limits and shutdown. Every wait is bounded by a stream deadline.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>  // Boost 1.74 asio/awaitable.hpp needs std::exchange in C++20
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bin/librarian/http_client.hpp"
#include "net/http/router.hpp"
#include "net/http/server.hpp"

using namespace librarian::net::http;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using librarian::cli::http_send;

namespace {

// A raw client connection for byte-exact requests; each step has a deadline.
class test_connection {
 public:
  explicit test_connection(uint16_t port) : stream_(io_) {
    stream_.expires_after(5s);
    tcp::endpoint server{asio::ip::make_address("127.0.0.1"), port};
    auto ec = run([&](auto done) { stream_.async_connect(server, done); });
    REQUIRE_FALSE(ec);
  }

  [[nodiscard]] bool write(const std::string& raw) {
    stream_.expires_after(5s);
    return !run([&](auto done) { asio::async_write(stream_, asio::buffer(raw), done); });
  }

  std::optional<bhttp::response<bhttp::string_body>> read(std::chrono::milliseconds limit = 5s) {
    stream_.expires_after(limit);
    bhttp::response_parser<bhttp::string_body> parser;
    if (run([&](auto done) { bhttp::async_read(stream_, buffer_, parser, done); }))
      return std::nullopt;
    return parser.release();
  }

  // True when the server closed the connection (EOF or reset) within `limit`.
  [[nodiscard]] bool closed_by_peer(std::chrono::milliseconds limit = 3s) {
    stream_.expires_after(limit);
    std::array<char, 256> sink{};
    for (int i = 0; i < 1000; ++i) {
      auto ec = run([&](auto done) { stream_.async_read_some(asio::buffer(sink), done); });
      if (ec == beast::error::timeout) return false;
      if (ec) return true;
    }
    return false;
  }

 private:
  template <class Start>
  beast::error_code run(Start start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

server_options small_options() {
  server_options options;
  options.threads = 2;
  options.body_max_bytes = 1024;
  options.header_max_bytes = 2048;
  options.read_timeout = 2000ms;
  options.handler_timeout = 2000ms;
  return options;
}

std::unique_ptr<server> start_or_fail(server_options options, handler_fn handler) {
  auto started = server::start(std::move(options), std::move(handler));
  REQUIRE_MESSAGE(started.has_value(), started.err().describe());
  return std::move(*started);
}

void echo(request req, respond_fn respond) {
  nlohmann::json query = req.query;
  respond(json_response(200, {{"method", req.method},
                              {"path", req.path},
                              {"query", query},
                              {"body", req.body},
                              {"custom", req.header("x-custom").value_or("")},
                              {"request_id", req.request_id},
                              {"remote", req.remote_address}}));
}

librarian::expected<librarian::cli::http_reply> get(uint16_t port, const std::string& target,
                                                    librarian::cli::header_list headers = {}) {
  return http_send("127.0.0.1", port, "GET", target, "", headers, 5000ms);
}

std::string simple_get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
}

}  // namespace

TEST_CASE("a handler's JSON answer reaches the client with type, length and a request id") {
  auto srv = start_or_fail(small_options(), echo);
  auto reply = http_send("127.0.0.1", srv->port(), "POST", "/api/v1/echo?a=1&b=x%20y", "hello",
                         {{"X-Custom", "yes"}}, 5000ms);
  REQUIRE_MESSAGE(reply.has_value(), reply.err().describe());
  CHECK(reply->status == 200);
  CHECK(reply->content_type == "application/json");
  CHECK(request_id_is_sane(reply->request_id));
  auto body = nlohmann::json::parse(reply->body);
  CHECK(body["method"] == "POST");
  CHECK(body["path"] == "/api/v1/echo");
  CHECK(body["query"]["b"] == "x y");
  CHECK(body["body"] == "hello");
  CHECK(body["custom"] == "yes");
  CHECK(body["request_id"] == reply->request_id);
  CHECK(body["remote"].get<std::string>().starts_with("127.0.0.1:"));
  // The client may have the answer before the server's write completion ran.
  for (int i = 0; i < 200 && srv->stats().bytes_out == 0; ++i) std::this_thread::sleep_for(5ms);
  auto stats = srv->stats();
  CHECK(stats.responses_by_class[1] == 1);
  CHECK(stats.bytes_in > 0);
  CHECK(stats.bytes_out > 0);
}

TEST_CASE("a sane client request id is echoed and an unsafe one replaced") {
  auto srv = start_or_fail(small_options(), echo);
  auto reply = get(srv->port(), "/", {{"X-Request-Id", "abc.DEF_1-2"}});
  REQUIRE(reply.has_value());
  CHECK(reply->request_id == "abc.DEF_1-2");
  for (std::string unsafe : {std::string{"bad id!"}, std::string(65, 'a'), std::string{"a\"b"}}) {
    reply = get(srv->port(), "/", {{"X-Request-Id", unsafe}});
    REQUIRE(reply.has_value());
    CHECK(reply->request_id != unsafe);
    CHECK(request_id_is_sane(reply->request_id));
  }
  auto first = get(srv->port(), "/");
  auto second = get(srv->port(), "/");
  REQUIRE((first.has_value() && second.has_value()));
  CHECK(first->request_id != second->request_id);
}

TEST_CASE("an oversized body is refused with 413 before it is read") {
  std::atomic<int> calls{0};
  auto srv = start_or_fail(small_options(), [&calls](request req, respond_fn respond) {
    calls++;
    echo(std::move(req), std::move(respond));
  });
  test_connection conn(srv->port());
  // Only the header is sent: the server must answer without waiting for 2 MB.
  REQUIRE(conn.write("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n"));
  auto reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 413);
  auto body = nlohmann::json::parse(reply->body());
  CHECK(body["error"] == "invalid_argument");
  CHECK(body["message"].get<std::string>().find("1024") != std::string::npos);
  CHECK(conn.closed_by_peer());
  // A chunked body has no length up front; the limit stops it while reading.
  test_connection chunked(srv->port());
  REQUIRE(chunked.write("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                        std::string(0x800, 'x') + "\r\n0\r\n\r\n"));
  reply = chunked.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 413);
  CHECK(calls == 0);
}

TEST_CASE("malformed requests get a 400 JSON error and the server keeps serving") {
  auto srv = start_or_fail(small_options(), echo);
  for (std::string garbage :
       {std::string{"NOT A REQUEST\r\n\r\n"}, std::string{"GET nopath HTTP/1.1\r\nHost: a\r\n\r\n"},
        std::string{"GET /?a=%zz HTTP/1.1\r\nHost: a\r\n\r\n"},
        std::string{"GET / HTTP/1.1\r\nBad Header\r\n\r\n"},
        std::string{"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"}}) {
    CAPTURE(garbage);
    test_connection conn(srv->port());
    REQUIRE(conn.write(garbage));
    auto reply = conn.read();
    REQUIRE(reply.has_value());
    CHECK(reply->result_int() == 400);
    CHECK(nlohmann::json::parse(reply->body())["error"] == "invalid_argument");
    CHECK(request_id_is_sane(std::string{reply->at("X-Request-Id")}));
  }
  test_connection big_header(srv->port());
  REQUIRE(big_header.write("GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n"));
  auto reply = big_header.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 431);
  auto ok = get(srv->port(), "/still-alive");
  REQUIRE(ok.has_value());
  CHECK(ok->status == 200);
  CHECK(srv->stats().responses_by_class[3] == 6);
}

TEST_CASE("the router answers 404 and 405 through the server") {
  router routes;
  routes.add("GET", "/api/v1/users/{name}", [](request, path_params params, respond_fn respond) {
    respond(json_response(200, {{"name", params.at("name")}}));
  });
  auto srv = start_or_fail(small_options(), routes.as_handler());
  auto reply = get(srv->port(), "/api/v1/users/ada%20l");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 200);
  CHECK(nlohmann::json::parse(reply->body)["name"] == "ada l");
  reply = get(srv->port(), "/api/v1/nope");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 404);
  CHECK(nlohmann::json::parse(reply->body)["request_id"] == reply->request_id);
  reply = http_send("127.0.0.1", srv->port(), "DELETE", "/api/v1/users/x", "", {}, 5000ms);
  REQUIRE(reply.has_value());
  CHECK(reply->status == 405);
}

TEST_CASE("a handler may answer later from another thread") {
  std::mutex mutex;
  std::vector<std::thread> workers;
  auto srv = start_or_fail(small_options(), [&](request req, respond_fn respond) {
    std::lock_guard lock(mutex);
    workers.emplace_back([req = std::move(req), respond = std::move(respond)] {
      std::this_thread::sleep_for(30ms);
      respond(json_response(201, {{"path", req.path}}));
      respond(json_response(500, nullptr));  // a second answer is ignored
    });
  });
  auto reply = get(srv->port(), "/later");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 201);
  CHECK(nlohmann::json::parse(reply->body)["path"] == "/later");
  srv->stop();
  std::lock_guard lock(mutex);
  for (auto& worker : workers) worker.join();
}

TEST_CASE("a handler that never answers yields 504 and its late answer is dropped") {
  auto options = small_options();
  options.handler_timeout = 200ms;
  std::mutex mutex;
  std::vector<respond_fn> parked;
  auto srv = start_or_fail(options, [&](request req, respond_fn respond) {
    if (req.path == "/fast") return respond(json_response(200, {{"fast", true}}));
    std::lock_guard lock(mutex);
    parked.push_back(std::move(respond));
  });
  test_connection conn(srv->port());
  auto started = std::chrono::steady_clock::now();
  REQUIRE(conn.write(simple_get("/slow")));
  auto reply = conn.read();
  auto elapsed = std::chrono::steady_clock::now() - started;
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 504);
  CHECK(nlohmann::json::parse(reply->body())["error"] == "timeout");
  CHECK(elapsed >= 150ms);
  CHECK(elapsed < 3s);
  {
    std::lock_guard lock(mutex);
    REQUIRE(parked.size() == 1);
    parked[0](json_response(200, {{"late", true}}));
  }
  // The connection stays usable, and the next answer is the next request's, not the late one.
  REQUIRE(conn.write(simple_get("/fast")));
  reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 200);
  CHECK(nlohmann::json::parse(reply->body())["fast"] == true);
  CHECK(srv->stats().handler_timeouts == 1);
}

TEST_CASE("keep-alive serves two requests on one connection") {
  auto srv = start_or_fail(small_options(), echo);
  test_connection conn(srv->port());
  for (std::string path : {"/one", "/two"}) {
    REQUIRE(conn.write(simple_get(path)));
    auto reply = conn.read();
    REQUIRE(reply.has_value());
    CHECK(reply->result_int() == 200);
    CHECK(reply->keep_alive());
    CHECK(nlohmann::json::parse(reply->body())["path"] == path);
  }
  REQUIRE(conn.write("GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  auto reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK_FALSE(reply->keep_alive());
  CHECK(conn.closed_by_peer());
  CHECK(srv->stats().connections_accepted == 1);
}

TEST_CASE("Expect: 100-continue gets a 100 before the body is sent") {
  auto srv = start_or_fail(small_options(), echo);
  test_connection conn(srv->port());
  REQUIRE(conn.write(
      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = conn.read();
  REQUIRE(interim.has_value());
  CHECK(interim->result_int() == 100);
  REQUIRE(conn.write("hello"));
  auto reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 200);
  CHECK(nlohmann::json::parse(reply->body())["body"] == "hello");
}

TEST_CASE("an idle or stalled connection is closed after the read timeout") {
  auto options = small_options();
  options.read_timeout = 200ms;
  auto srv = start_or_fail(options, echo);
  test_connection idle(srv->port());
  test_connection stalled(srv->port());
  REQUIRE(stalled.write("GET / HTTP/1.1\r\nHost:"));
  CHECK(idle.closed_by_peer(3s));
  CHECK(stalled.closed_by_peer(3s));
}

TEST_CASE("connections beyond connections_max are closed at once") {
  auto options = small_options();
  options.connections_max = 1;
  auto srv = start_or_fail(options, echo);
  test_connection first(srv->port());
  REQUIRE(first.write(simple_get("/")));
  REQUIRE(first.read().has_value());
  test_connection second(srv->port());
  CHECK(second.closed_by_peer());
  CHECK(srv->stats().connections_refused == 1);
  CHECK(srv->stats().connections_open == 1);
}

TEST_CASE("a handler that throws yields 500, not a crash") {
  auto srv =
      start_or_fail(small_options(), [](request, respond_fn) { throw std::runtime_error("boom"); });
  auto reply = get(srv->port(), "/");
  REQUIRE(reply.has_value());
  CHECK(reply->status == 500);
  CHECK(nlohmann::json::parse(reply->body)["error"] == "internal");
}

TEST_CASE("stop() returns promptly with idle and waiting connections open") {
  auto options = small_options();
  options.read_timeout = 30000ms;
  options.handler_timeout = 30000ms;
  std::mutex mutex;
  std::vector<respond_fn> parked;
  auto srv = start_or_fail(options, [&](request, respond_fn respond) {
    std::lock_guard lock(mutex);
    parked.push_back(std::move(respond));
  });
  test_connection idle(srv->port());
  test_connection waiting(srv->port());
  REQUIRE(waiting.write(simple_get("/wait")));
  for (int i = 0; i < 200 &&
                  [&] {
                    std::lock_guard lock(mutex);
                    return parked.empty();
                  }();
       ++i)
    std::this_thread::sleep_for(5ms);
  auto started = std::chrono::steady_clock::now();
  srv->stop();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(idle.closed_by_peer());
  CHECK(waiting.closed_by_peer());
  std::lock_guard lock(mutex);
  REQUIRE(parked.size() == 1);
  parked[0](json_response(200, nullptr));  // after stop: dropped, no crash
  srv.reset();
  parked[0](json_response(200, nullptr));  // after destruction too
}

TEST_CASE("a port in use is reported as unavailable, naming the address and the fix") {
  auto first = start_or_fail(small_options(), echo);
  auto options = small_options();
  options.port = first->port();
  auto second = server::start(options, echo);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.err().code == librarian::errc::unavailable);
  CHECK(second.err().message.find("127.0.0.1:" + std::to_string(first->port())) !=
        std::string::npos);
  CHECK(second.err().message.find("http port") != std::string::npos);
  options.bind_address = "not-an-ip";
  auto third = server::start(options, echo);
  REQUIRE_FALSE(third.has_value());
  CHECK(third.err().code == librarian::errc::invalid_argument);
}

TEST_CASE("the CLI's client gives up at its deadline with errc::timeout") {
  std::mutex mutex;
  std::vector<respond_fn> parked;
  auto srv = start_or_fail(small_options(), [&](request, respond_fn respond) {
    std::lock_guard lock(mutex);
    parked.push_back(std::move(respond));
  });
  auto started = std::chrono::steady_clock::now();
  auto reply = http_send("127.0.0.1", srv->port(), "GET", "/", "", {}, 200ms);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  REQUIRE_FALSE(reply.has_value());
  CHECK(reply.err().code == librarian::errc::timeout);
  CHECK(reply.err().message.find("127.0.0.1:" + std::to_string(srv->port())) != std::string::npos);
}

TEST_CASE("a handler's header fields cannot inject others or change the framing") {
  auto srv = start_or_fail(small_options(), [](request req, respond_fn respond) {
    response res;
    res.content_type = "text/plain";
    if (req.path == "/empty") {
      res.status = 204;
      res.body = "dropped: a 204 has no body";
    } else {
      res.body = "hello";
      res.headers = {{"X-Note", "a\r\nSet-Cookie: evil=1"},
                     {"Content-Length", "99"},
                     {"Bad Name", "x"},
                     {"Connection", "close"}};
    }
    respond(std::move(res));
  });
  test_connection conn(srv->port());
  REQUIRE(conn.write(simple_get("/inject")));
  auto reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 200);
  CHECK(reply->body() == "hello");
  CHECK(reply->keep_alive());
  CHECK(reply->count("set-cookie") == 0);
  CHECK(reply->count("bad name") == 0);
  CHECK(std::string{reply->at("x-note")} == "a  Set-Cookie: evil=1");
  REQUIRE(conn.write(simple_get("/empty")));
  reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(reply->result_int() == 204);
  CHECK(reply->body().empty());
  CHECK(reply->count(bhttp::field::content_length) == 0);
  // The framing held: the same connection still serves.
  REQUIRE(conn.write(simple_get("/inject")));
  reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(reply->body() == "hello");
}

TEST_CASE("an HTTP/1.0 client asking for keep-alive is told so and kept") {
  auto srv = start_or_fail(small_options(), echo);
  test_connection conn(srv->port());
  for (std::string path : {"/one", "/two"}) {
    REQUIRE(conn.write("GET " + path + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto reply = conn.read();
    REQUIRE(reply.has_value());
    CHECK(reply->result_int() == 200);
    CHECK(beast::iequals(std::string{(*reply)[bhttp::field::connection]}, "keep-alive"));
    CHECK(nlohmann::json::parse(reply->body())["path"] == path);
  }
  REQUIRE(conn.write("GET /three HTTP/1.0\r\n\r\n"));  // no keep-alive: closed after the answer
  auto reply = conn.read();
  REQUIRE(reply.has_value());
  CHECK(conn.closed_by_peer());
  CHECK(srv->stats().connections_accepted == 1);
}
