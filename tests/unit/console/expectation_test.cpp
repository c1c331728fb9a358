// Expectations: parsing and checking replies, with expected-vs-actual messages.
#include <doctest/doctest.h>

#include "runtime/console/language.hpp"

using namespace librarian;
using namespace librarian::console;

namespace {
expectation parse(std::string text) {
  auto tokens = tokenize(text);
  REQUIRE(tokens);
  auto parsed = parse_expectation(*tokens);
  REQUIRE(parsed);
  return *parsed;
}

std::string failure(std::string wanted, const reply& actual) {
  auto result = check(parse(wanted), actual);
  REQUIRE_FALSE(result);
  CHECK(result.err().code == errc::invalid_argument);
  return result.err().message;
}

const reply ok_reply{true, "alice\nbob\ncarol\n"};
const reply not_found{false, "", errc::not_found, "user 'zed' does not exist"};
}  // namespace

TEST_CASE("every expectation form parses") {
  CHECK(parse("ok") == expectation{expectation_kind::ok});
  CHECK(parse("error not_found") == expectation{expectation_kind::error, errc::not_found});
  CHECK(parse("error") == expectation{expectation_kind::error});
  CHECK(parse(R"(contains "bob")") == expectation{expectation_kind::contains, {}, "bob"});
  CHECK(parse("equals done") == expectation{expectation_kind::equals, {}, "done"});
  CHECK(parse("count 3") == expectation{expectation_kind::count, {}, {}, 3});
}

TEST_CASE("malformed expectations are refused") {
  for (auto bad : {"", "maybe", "error nope", "error ok", "count x", "count -1", "contains",
                   "ok extra", "equals a b", "\"ok\""}) {
    CAPTURE(bad);
    auto tokens = tokenize(bad);
    REQUIRE(tokens);
    CHECK_FALSE(parse_expectation(*tokens));
  }
}

TEST_CASE("matching replies pass") {
  CHECK(check(parse("ok"), ok_reply));
  CHECK(check(parse(R"(contains "bob")"), ok_reply));
  CHECK(check(parse(R"(equals "alice\nbob\ncarol")"), ok_reply));
  CHECK(check(parse("count 3"), ok_reply));
  CHECK(check(parse("count 0"), reply{true, ""}));
  CHECK(check(parse("error not_found"), not_found));
  CHECK(check(parse("error"), not_found));
}

TEST_CASE("failures show expected and actual") {
  CHECK(failure("ok", not_found) == "expected ok, got error not_found: user 'zed' does not exist");
  CHECK(failure("error not_found", ok_reply) ==
        R"(expected error not_found, got reply "alice\nbob\ncarol\n")");
  CHECK(failure("error conflict", not_found) ==
        "expected error conflict, got error not_found: user 'zed' does not exist");
  CHECK(failure(R"(contains "dave")", ok_reply) ==
        R"(expected contains "dave", got reply "alice\nbob\ncarol\n")");
  CHECK(failure(R"(equals "alice")", ok_reply) ==
        R"(expected equals "alice", got reply "alice\nbob\ncarol\n")");
  CHECK(failure("count 2", ok_reply) == R"(expected count 2, got 3 items: "alice\nbob\ncarol\n")");
  CHECK(failure(R"(contains "x")", not_found).starts_with("expected contains \"x\", got error"));
}

TEST_CASE("a list reply counts one item per line") {
  CHECK(count_items("") == 0);
  CHECK(count_items("a") == 1);
  CHECK(count_items("a\n") == 1);
  CHECK(count_items("a\nb") == 2);
  CHECK(count_items("a\n\nb\n") == 3);
}
