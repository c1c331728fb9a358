// Wildcard parsing and matching for RLS queries.
#include <doctest/doctest.h>

#include "actors/rls/glob.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;

bool matches(const char* pattern, std::string_view name) {
  auto parsed = parse_glob(pattern, 8192);
  REQUIRE(parsed.has_value());
  return glob_match(*parsed, name);
}

}  // namespace

TEST_CASE("a pattern's literal prefix stops at its first unescaped wildcard") {
  CHECK(parse_glob("abc*d", 100)->literal_prefix == "abc");
  CHECK(parse_glob("a\\*b?c", 100)->literal_prefix == "a*b");
  CHECK(parse_glob("*", 100)->literal_prefix.empty());
  CHECK_FALSE(parse_glob("plain", 100)->has_wildcard);
}

TEST_CASE("star, question mark and escapes match as in fnmatch") {
  CHECK(matches("*", ""));
  CHECK(matches("*", "anything"));
  CHECK(matches("a?c", "abc"));
  CHECK_FALSE(matches("a?c", "ac"));
  CHECK(matches("*a*b*", "xxaxxbxx"));
  CHECK_FALSE(matches("*a*b*", "xxbxxaxx"));
  CHECK(matches("a*b*c", "aXbYbZc"));
  CHECK(matches("a\\*b", "a*b"));
  CHECK_FALSE(matches("a\\*b", "axb"));
  CHECK(matches("a\\?b", "a?b"));
  CHECK_FALSE(matches("a\\?b", "axb"));
  CHECK(matches("a\\\\b", "a\\b"));
  CHECK(matches("**x", "x"));
  CHECK(matches("\xff?", "\xff\xfe"));
}

TEST_CASE("bad patterns are refused with a clear error") {
  CHECK(parse_glob("", 10).err().code == errc::invalid_argument);
  CHECK(parse_glob("abc\\", 10).err().code == errc::invalid_argument);
  CHECK(parse_glob(std::string_view{"a\0b", 3}, 10).err().code == errc::invalid_argument);
  CHECK(parse_glob(std::string(11, 'a'), 10).err().code == errc::invalid_argument);
}
