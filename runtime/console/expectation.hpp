// Expectations of the console language (`ask ... => contains "x"`): what a reply must look like,
// and the check that says expected vs actual when it does not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/console/tokenizer.hpp"
#include "runtime/error.hpp"
#include "runtime/expected.hpp"

namespace librarian::console {

enum class expectation_kind {
  ok,        // any non-error reply
  error,     // an error reply; with `code`, that code
  contains,  // a non-error reply whose text contains `text`
  equals,    // a non-error reply whose text equals `text` (one trailing newline ignored)
  count,     // a non-error reply that lists `count` items, one per line (see count_items)
};

struct expectation {
  expectation_kind kind = expectation_kind::ok;
  std::optional<errc> code;  // error: the code wanted; nullopt accepts any error
  std::string text;          // contains, equals
  uint64_t count = 0;        // count

  friend bool operator==(const expectation&, const expectation&) = default;
};

// What an actor answered, as the executor renders it. A list is rendered one item per line.
struct reply {
  bool ok = true;
  std::string text;  // the rendered reply when ok
  errc code = errc::ok;
  std::string error_message;
};

// The tokens after `=>`: ok | error [CODE] | contains TEXT | equals TEXT | count N.
[[nodiscard]] expected<expectation> parse_expectation(const std::vector<token>& tokens);

// Items of a list reply: its lines; one trailing newline does not start an item, and an empty
// text is an empty list.
[[nodiscard]] uint64_t count_items(std::string_view text);

// ok, or invalid_argument with "expected X, got Y".
[[nodiscard]] status check(const expectation& wanted, const reply& actual);

// "contains \"alice\"": the expectation written back in the language.
[[nodiscard]] std::string to_text(const expectation& wanted);

}  // namespace librarian::console
