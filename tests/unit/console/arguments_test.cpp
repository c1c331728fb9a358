// Typed arguments: parse_value, bind_args and usage.
#include <doctest/doctest.h>

#include "runtime/console/language.hpp"

using namespace librarian;
using namespace librarian::console;
using namespace std::chrono_literals;

namespace {
token word(std::string text) {
  auto tokens = tokenize(text);
  REQUIRE(tokens);
  REQUIRE(tokens->size() == 1);
  return tokens->front();
}

message_signature users_create() {
  return {"users",
          "create",
          {{"name", arg_type::name}, {"password", arg_type::string}, {"role", arg_type::role}},
          "create a user"};
}
}  // namespace

TEST_CASE("each argument type converts what it should") {
  CHECK(std::get<std::string>(*parse_value(arg_type::string, word("\"a b\""))) == "a b");
  CHECK(std::get<int64_t>(*parse_value(arg_type::int64, word("-42"))) == -42);
  CHECK(std::get<uint64_t>(*parse_value(arg_type::uint64, word("18446744073709551615"))) ==
        UINT64_MAX);
  CHECK(std::get<double>(*parse_value(arg_type::float64, word("0.05"))) == doctest::Approx(0.05));
  CHECK(std::get<bool>(*parse_value(arg_type::boolean, word("true"))));
  CHECK_FALSE(std::get<bool>(*parse_value(arg_type::boolean, word("false"))));
  CHECK(std::get<std::chrono::milliseconds>(*parse_value(arg_type::duration, word("5s"))) ==
        5000ms);
  CHECK(std::get<std::string>(*parse_value(arg_type::name, word("zen.2024-a_b"))) ==
        "zen.2024-a_b");
  CHECK(std::get<std::string>(*parse_value(arg_type::role, word("readwrite"))) == "READWRITE");
  CHECK(std::get<std::string>(*parse_value(arg_type::any, word("12"))) == "12");
}

TEST_CASE("wrong values say what was expected and what came") {
  auto not_int = parse_value(arg_type::int64, word("x"));
  REQUIRE_FALSE(not_int);
  CHECK(not_int.err().code == errc::invalid_argument);
  CHECK(not_int.err().message == "value must be an integer, got \"x\"");
  CHECK_FALSE(parse_value(arg_type::int64, word("9223372036854775808")));
  CHECK_FALSE(parse_value(arg_type::int64, word("1.5")));
  CHECK_FALSE(parse_value(arg_type::uint64, word("-1")));
  CHECK_FALSE(parse_value(arg_type::float64, word("nan")));
  CHECK_FALSE(parse_value(arg_type::float64, word("1e999")));
  CHECK_FALSE(parse_value(arg_type::boolean, word("yes")));
  CHECK_FALSE(parse_value(arg_type::duration, word("5")));
  CHECK_FALSE(parse_value(arg_type::name, word("a/b")));
  CHECK_FALSE(parse_value(arg_type::name, word("\"\"")));
  CHECK_FALSE(parse_value(arg_type::name, word(std::string(129, 'n'))));
  CHECK(parse_value(arg_type::name, word(std::string(128, 'n'))));
  auto role = parse_value(arg_type::role, word("ROOT"));
  REQUIRE_FALSE(role);
  CHECK(role.err().message.find("must be a role (NONE, READONLY") != std::string::npos);
}

TEST_CASE("bind_args converts every argument in order") {
  auto cmd = parse_line(R"(ask users create alice "s3cret pw" admin)");
  REQUIRE(cmd);
  auto values = bind_args(users_create(), (*cmd)->args);
  REQUIRE(values);
  REQUIRE(values->size() == 3);
  CHECK(std::get<std::string>((*values)[0]) == "alice");
  CHECK(std::get<std::string>((*values)[1]) == "s3cret pw");
  CHECK(std::get<std::string>((*values)[2]) == "ADMIN");
}

TEST_CASE("bind_args names the argument with the wrong type") {
  auto cmd = parse_line(R"(ask users create "bad name" pw admin)");
  REQUIRE(cmd);
  auto values = bind_args(users_create(), (*cmd)->args);
  REQUIRE_FALSE(values);
  CHECK(values.err().message.starts_with(
      "argument 1 (name) of users.create must be a name (1-128 of A-Z a-z 0-9 . _ -), got "
      "\"bad name\""));
  message_signature resize{
      "stores", "resize", {{"store", arg_type::name}, {"bytes", arg_type::int64}}, ""};
  auto sized = bind_args(resize, {word("main"), word("x")});
  REQUIRE_FALSE(sized);
  CHECK(sized.err().message == "argument 2 (bytes) of stores.resize must be an integer, got \"x\"");
}

TEST_CASE("bind_args refuses a wrong number of arguments and shows the usage") {
  auto values = bind_args(users_create(), {word("alice"), word("pw")});
  REQUIRE_FALSE(values);
  CHECK(values.err().message ==
        "users.create takes 3 arguments, got 2; usage: users create NAME:name PASSWORD:string "
        "ROLE:role");
  auto too_many = bind_args(users_create(), {word("a"), word("b"), word("c"), word("d")});
  REQUIRE_FALSE(too_many);
  CHECK(too_many.err().message.starts_with("users.create takes 3 arguments, got 4"));
}

TEST_CASE("usage and help lines print the signature") {
  CHECK(usage(users_create()) == "users create NAME:name PASSWORD:string ROLE:role");
  CHECK(help_line(users_create()) ==
        "users create NAME:name PASSWORD:string ROLE:role  create a user");
  message_signature none{"members", "list", {}, ""};
  CHECK(usage(none) == "members list");
  CHECK(to_text(value{std::string{"a\"b"}}) == R"("a\"b")");
  CHECK(to_text(value{5000ms}) == "5s");
  CHECK(to_text(value{int64_t{-3}}) == "-3");
}
