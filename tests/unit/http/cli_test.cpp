// The librarian CLI: client config validation, error decoding, reply formatting, and the binary
// itself against a loopback server (exit codes, --json, auth headers).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bin/librarian/api_calls.hpp"
#include "bin/librarian/client_config.hpp"
#include "net/http/auth.hpp"
#include "net/http/router.hpp"
#include "net/http/server.hpp"
#include "runtime/crypto/crypto.hpp"

using namespace librarian::cli;
using librarian::errc;

namespace {

void check_rejected(const std::string& text, const std::string& expected_fragment) {
  auto parsed = parse_client_config(text, "test.cfg");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.err().code == errc::invalid_argument);
  CAPTURE(parsed.err().message);
  CHECK(parsed.err().message.starts_with("test.cfg: "));
  CHECK(parsed.err().message.find(expected_fragment) != std::string::npos);
}

// A scratch directory removed at the end of the test.
struct scratch_dir {
  std::filesystem::path path;
  scratch_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "librarian-cli-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto file = path / name;
    std::ofstream(file) << text;
    std::filesystem::permissions(
        file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return file.string();
  }
};

struct run_result {
  int exit_code = -1;
  std::string out;
};

// Runs the CLI with stdin from /dev/null (or `stdin_text`), capturing stdout; stderr passes on.
run_result run_cli(const std::string& args, const std::string& stdin_text = "") {
  std::string command = std::string{LIBRARIAN_CLI_PATH} + " " + args;
  command = stdin_text.empty() ? command + " </dev/null"
                               : "printf '%s\\n' '" + stdin_text + "' | " + command;
  run_result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> chunk{};
  size_t n = 0;
  while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0)
    result.out.append(chunk.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

TEST_CASE("a valid client config parses, with http:// hosts and tokens") {
  auto parsed = parse_client_config(R"({"connections": {
      "local": {"host": "http://localhost", "port": 8080, "user": "me", "password": "pw"},
      "tok": {"host": "10.0.0.1", "port": 1, "token": "abc"}}})",
                                    "test.cfg");
  REQUIRE_MESSAGE(parsed.has_value(), parsed.err().describe());
  REQUIRE(parsed->connections.size() == 2);
  auto local = find_connection(*parsed, "local");
  REQUIRE(local.has_value());
  CHECK(local->host == "localhost");
  CHECK(local->port == 8080);
  CHECK(local->user == "me");
  CHECK(local->password == "pw");
  CHECK_FALSE(local->token.has_value());
  CHECK(parsed->connections.at("tok").token == "abc");
  auto missing = find_connection(*parsed, "other");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.err().code == errc::not_found);
  CHECK(missing.err().message.find("local, tok") != std::string::npos);
}

TEST_CASE("client config errors name the file and the key") {
  check_rejected("{", "not valid JSON");
  check_rejected("[]", "object at the top");
  check_rejected(R"({"connection": {}})", "connection: unknown key");
  check_rejected(R"({})", "connections: missing");
  check_rejected(R"({"connections": []})", "connections: expected an object, got array");
  check_rejected(R"({"connections": {"a": 3}})", "connections.a: expected an object");
  check_rejected(R"({"connections": {"a": {"host": "h", "port": 1, "user": "u",
                   "password": "p", "pasword": "x"}}})",
                 "connections.a.pasword: unknown key");
  check_rejected(R"({"connections": {"a": {"port": 1, "token": "t"}}})",
                 "connections.a.host: missing");
  check_rejected(R"({"connections": {"a": {"host": "h", "token": "t"}}})",
                 "connections.a.port: missing");
  check_rejected(R"({"connections": {"a": {"host": "h", "port": "80", "token": "t"}}})",
                 "connections.a.port: expected an integer 1..65535, got string");
  check_rejected(R"({"connections": {"a": {"host": "h", "port": 70000, "token": "t"}}})",
                 "connections.a.port: expected an integer 1..65535, got 70000");
  check_rejected(R"({"connections": {"a": {"host": 5, "port": 1, "token": "t"}}})",
                 "connections.a.host: expected a string, got number");
  check_rejected(R"({"connections": {"a": {"host": "h:80", "port": 1, "token": "t"}}})",
                 "connections.a.host: expected a bare host");
  check_rejected(R"({"connections": {"a": {"host": "https://h", "port": 1, "token": "t"}}})",
                 "https is not supported");
  check_rejected(R"({"connections": {"a": {"host": "h", "port": 1, "password": "p"}}})",
                 "connections.a.user: missing");
  check_rejected(R"({"connections": {"a": {"host": "h", "port": 1}}})",
                 "exactly one of \"password\" or \"token\"");
  check_rejected(R"({"connections": {"a": {"host": "h", "port": 1, "user": "u",
                   "password": "p", "token": "t"}}})",
                 "exactly one of");
}

TEST_CASE("a missing client config says where it looked and shows an example") {
  auto loaded = load_client_config(std::string{"/nonexistent/dir/.hl_client.cfg"});
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.err().code == errc::not_found);
  CHECK(loaded.err().message.find("/nonexistent/dir/.hl_client.cfg") != std::string::npos);
  CHECK(loaded.err().message.find("\"connections\"") != std::string::npos);
}

TEST_CASE("error replies decode to the server's code, else to one from the status") {
  http_reply reply{404, "application/json", "rid-1",
                   R"({"error":"not_found","message":"user 'x' does not exist"})"};
  auto err = error_from_reply(reply, "h:1");
  CHECK(err.code == errc::not_found);
  CHECK(err.message == "user 'x' does not exist (request id rid-1)");
  reply = http_reply{502, "text/html", "", "<html>bad gateway</html>"};
  err = error_from_reply(reply, "h:1");
  CHECK(err.code == errc::unavailable);
  CHECK(err.message.find("HTTP 502 from h:1") != std::string::npos);
  reply = http_reply{403, "application/json", "", R"({"error":"no_such_code"})"};
  CHECK(error_from_reply(reply, "h:1").code == errc::forbidden);
}

TEST_CASE("replies render as readable text") {
  CHECK(format_unix_ms(0) == "-");
  CHECK(format_unix_ms(1'700'000'000'123) == "2023-11-14T22:13:20Z");
  CHECK(format_duration_ms(250) == "250ms");
  CHECK(format_duration_ms(12'000) == "12s");
  CHECK(format_duration_ms(90'061'000) == "1d 1h 1m 1s");
  auto members = format_members(nlohmann::json::parse(R"({"members": [
      {"name": "a", "state": "up", "address": "10.0.0.1:7000", "since_unix_ms": 1700000000000},
      {"name": "bbbb", "state": "down"}]})"));
  CHECK(members ==
        "NAME  STATE  ADDRESS        SINCE\n"
        "a     up     10.0.0.1:7000  2023-11-14T22:13:20Z\n"
        "bbbb  down   ?              -\n");
  auto users =
      format_users(nlohmann::json::parse(R"({"users": [{"name": "x", "role": "ADMIN"}]})"));
  CHECK(users == "NAME  ROLE   CREATED\nx     ADMIN  -\n");
  auto status = format_status(nlohmann::json::parse(
      R"({"name": "n1", "incarnation": 3, "started_unix_ms": 1700000000000, "uptime_ms": 61000})"));
  CHECK(status.find("uptime:") != std::string::npos);
  CHECK(status.find("1m 1s") != std::string::npos);
  CHECK(status.find("started:") != std::string::npos);
  CHECK(format_ping(nlohmann::json::parse(
            R"({"name": "n1", "version": "0.1.0", "user": "me", "role": "ADMIN"})")) ==
        "connected to n1 (version 0.1.0) as me (ADMIN)\n");
}

TEST_CASE("the librarian binary talks to a server and maps errors to exit codes") {
  namespace http = librarian::net::http;
  http::router routes;
  auto expect_auth = [](const http::request& req) {
    auto creds = http::parse_authorization(req.header("authorization").value_or(""));
    if (auto* basic = std::get_if<http::basic_credentials>(&creds))
      return basic->user == "admin" && basic->password == "pw";
    if (auto* bearer = std::get_if<http::bearer_credentials>(&creds)) return bearer->token == "tk";
    return false;
  };
  routes.add(
      "GET", "/api/v1/ping", [&](http::request req, http::path_params, http::respond_fn respond) {
        if (!expect_auth(req))
          return respond(http::error_response({errc::unauthenticated, "bad credentials"}));
        respond(http::json_response(
            200, {{"name", "n1"}, {"version", "0.1.0"}, {"user", "admin"}, {"role", "ADMIN"}}));
      });
  std::string created_body;
  routes.add("POST", "/api/v1/users",
             [&](http::request req, http::path_params, http::respond_fn respond) {
               created_body = req.body;  // read after the CLI exits, so no race
               respond(http::json_response(201, nlohmann::json::parse(req.body)));
             });
  routes.add("DELETE", "/api/v1/users/{name}",
             [](http::request, http::path_params params, http::respond_fn respond) {
               respond(http::error_response(
                   {errc::not_found, "user '" + params.at("name") + "' does not exist"}));
             });
  auto started = http::server::start({}, routes.as_handler());
  REQUIRE(started.has_value());
  auto& srv = *started;
  scratch_dir dir;
  std::string port = std::to_string(srv->port());
  auto config = dir.write("client.cfg", R"({"connections": {
      "good": {"host": "127.0.0.1", "port": )" +
                                            port + R"(, "user": "admin", "password": "pw"},
      "token": {"host": "127.0.0.1", "port": )" +
                                            port + R"(, "token": "tk"},
      "wrong": {"host": "127.0.0.1", "port": )" +
                                            port + R"(, "user": "admin", "password": "no"},
      "down": {"host": "127.0.0.1", "port": 1, "user": "a", "password": "b"}}})");
  std::string base = "--config " + config + " ";

  auto result = run_cli(base + "ping good");
  CHECK(result.exit_code == 0);
  CHECK(result.out == "connected to n1 (version 0.1.0) as admin (ADMIN)\n");
  result = run_cli(base + "ping token --json");
  CHECK(result.exit_code == 0);
  CHECK(nlohmann::json::parse(result.out)["name"] == "n1");
  result = run_cli(base + "ping wrong");
  CHECK(result.exit_code == librarian::exit_code(errc::unauthenticated));
  result = run_cli(base + "ping down");
  CHECK(result.exit_code == librarian::exit_code(errc::unavailable));
  result = run_cli(base + "delete-user good 'bob x'");
  CHECK(result.exit_code == librarian::exit_code(errc::not_found));
  result = run_cli(base + "create-user good carol --role readwrite --password-stdin", "s3cret");
  CHECK(result.exit_code == 0);
  CHECK(result.out == "created user carol\n");
  result = run_cli(base + "create-user good dave --role readwrite");  // stdin is not a tty
  CHECK(result.exit_code == librarian::exit_code(errc::invalid_argument));
  result = run_cli(base + "ping");
  CHECK(result.exit_code == 1);
  result = run_cli(base + "ping nosuch");
  CHECK(result.exit_code == librarian::exit_code(errc::not_found));
  srv->stop();
  auto body = nlohmann::json::parse(created_body);
  CHECK(body == nlohmann::json{{"name", "carol"}, {"password", "s3cret"}, {"role", "READWRITE"}});
}
