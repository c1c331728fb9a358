// Splits one line of the console language into tokens and reads durations; shared by
// librarian-console and librarian-sim so both accept exactly the same text.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::console {

// Longer lines are refused outright: a script line is a command, never a payload.
inline constexpr size_t line_bytes_max = 64 * 1024;
// Upper bound of every duration (about 11 years): keeps arithmetic on milliseconds far from
// overflow even after summing many of them.
inline constexpr std::chrono::milliseconds duration_max{100'000LL * 3'600'000LL};

enum class token_kind {
  word,    // bare word: anything up to whitespace, '"', '#' or '|'
  string,  // double-quoted, escapes already decoded
  number,  // bare word that reads as a decimal number: -12, 3.5, 1e3
  bar,     // '|' separating the sides of `partition`
};

struct token {
  token_kind kind = token_kind::word;
  std::string text;   // decoded text; for a string, without the quotes
  size_t column = 1;  // 1-based column of the first character, for error messages

  friend bool operator==(const token&, const token&) = default;
};

// Tokens of one line; `#` outside quotes ends the line. Errors (invalid_argument) name the
// column: "column 7: unterminated string (started here)".
[[nodiscard]] expected<std::vector<token>> tokenize(std::string_view line);

// "250ms", "5s", "2m", "1h": a non-negative integer and a unit, no space between them.
[[nodiscard]] expected<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest text that parse_duration reads back: 1500ms -> "1500ms", 120000ms -> "2m".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds duration);

// Text made safe to print inside double quotes: control characters and '"' escaped, long
// text cut with "..." so an error message stays one readable line.
[[nodiscard]] std::string quoted(std::string_view text, size_t bytes_max = 200);

}  // namespace librarian::console
