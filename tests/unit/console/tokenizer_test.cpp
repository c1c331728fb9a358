// Tokenizer and durations of the console language.
#include <doctest/doctest.h>

#include "runtime/console/language.hpp"

using namespace librarian;
using namespace librarian::console;
using namespace std::chrono_literals;

namespace {
std::vector<std::string> texts(const std::vector<token>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) out.push_back(t.text);
  return out;
}
}  // namespace

TEST_CASE("words, strings and numbers are told apart and keep their columns") {
  auto tokens = tokenize(R"(ask  users "a b" -12 3.5 1e3 x1)");
  REQUIRE(tokens);
  REQUIRE(tokens->size() == 7);
  CHECK((*tokens)[0] == token{token_kind::word, "ask", 1});
  CHECK((*tokens)[1] == token{token_kind::word, "users", 6});
  CHECK((*tokens)[2] == token{token_kind::string, "a b", 12});
  CHECK((*tokens)[3].kind == token_kind::number);
  CHECK((*tokens)[4].kind == token_kind::number);
  CHECK((*tokens)[5].kind == token_kind::number);
  CHECK((*tokens)[6].kind == token_kind::word);
}

TEST_CASE("escapes in strings are decoded") {
  auto tokens = tokenize(R"("q\"b\\n\n\t\x41\x7e")");
  REQUIRE(tokens);
  CHECK((*tokens)[0].text == "q\"b\\n\n\tA~");
}

TEST_CASE("a hash outside quotes starts a comment, inside quotes it is text") {
  auto tokens = tokenize(R"(echo "#1" a#b # rest)");
  REQUIRE(tokens);
  CHECK(texts(*tokens) == std::vector<std::string>{"echo", "#1", "a"});
  auto only_comment = tokenize("   # nothing here");
  REQUIRE(only_comment);
  CHECK(only_comment->empty());
}

TEST_CASE("a bar is a token of its own") {
  auto tokens = tokenize("partition a,b|c");
  REQUIRE(tokens);
  CHECK(texts(*tokens) == std::vector<std::string>{"partition", "a,b", "|", "c"});
  CHECK((*tokens)[2].kind == token_kind::bar);
}

TEST_CASE("an unterminated string is reported at the column of its opening quote") {
  auto tokens = tokenize(R"(echo ok "never closed)");
  REQUIRE_FALSE(tokens);
  CHECK(tokens.err().code == errc::invalid_argument);
  CHECK(tokens.err().message.starts_with("column 9: unterminated string"));
  auto trailing_backslash = tokenize(R"(echo "abc\)");
  REQUIRE_FALSE(trailing_backslash);
  CHECK(trailing_backslash.err().message.starts_with("column 6: unterminated string"));
}

TEST_CASE("bad escapes and control characters are refused with their column") {
  auto unknown = tokenize(R"(echo "a\q")");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.err().message.starts_with("column 8: unknown escape \\q"));
  auto short_hex = tokenize(R"(echo "\x4")");
  REQUIRE_FALSE(short_hex);
  CHECK(short_hex.err().message.starts_with("column 7: \\x needs two hex digits"));
  auto control = tokenize(std::string{"echo a\x01"});
  REQUIRE_FALSE(control);
  CHECK(control.err().message == "column 7: control character in word");
  auto in_string = tokenize(std::string{"echo \"\x1b\""});
  REQUIRE_FALSE(in_string);
  CHECK(in_string.err().message.starts_with("column 7: control character in string"));
}

TEST_CASE("lines over 64 KiB are refused") {
  std::string line = "echo " + std::string(line_bytes_max, 'a');
  auto tokens = tokenize(line);
  REQUIRE_FALSE(tokens);
  CHECK(tokens.err().message.find("the limit is 65536") != std::string::npos);
}

TEST_CASE("durations take ms, s, m and h") {
  CHECK(*parse_duration("250ms") == 250ms);
  CHECK(*parse_duration("5s") == 5000ms);
  CHECK(*parse_duration("2m") == 120000ms);
  CHECK(*parse_duration("1h") == 3600000ms);
  CHECK(*parse_duration("0s") == 0ms);
  for (auto bad : {"5", "s", "-1s", "1.5s", "5 s", "5d", "1sec", "", "99999999999999999999h"}) {
    CAPTURE(bad);
    auto d = parse_duration(bad);
    REQUIRE_FALSE(d);
    CHECK(d.err().message.starts_with("expected a duration like 250ms, 5s, 2m or 1h"));
  }
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(120000ms) == "2m");
  CHECK(format_duration(0ms) == "0ms");
}

TEST_CASE("quoted escapes what would break a one-line message") {
  CHECK(quoted("a\"b\n\x01") == R"("a\"b\n\x01")");
  CHECK(quoted("abcdef", 3) == R"("abc...")");
}
