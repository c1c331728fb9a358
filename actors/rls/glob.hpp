// Unix-style wildcard patterns for RLS queries: `*` (any run), `?` (any one byte), `\` escapes the
// next byte. The literal prefix before the first wildcard selects an index range to scan.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::rls {

struct glob_token {
  enum class kind : uint8_t { literal, any_byte, any_run };
  kind what = kind::literal;
  char byte = 0;  // for literal
};

struct glob {
  std::string literal_prefix;  // every matching name starts with it
  std::vector<glob_token> tokens;
  bool has_wildcard = false;
};

// Errors (invalid_argument): empty, longer than pattern_bytes_max, contains NUL, or ends with a
// lone backslash.
[[nodiscard]] expected<glob> parse_glob(std::string_view pattern, size_t pattern_bytes_max);

// Byte-wise match; O(name * tokens) in the worst case, no recursion.
[[nodiscard]] bool glob_match(const glob& pattern, std::string_view name);

}  // namespace librarian::rls
