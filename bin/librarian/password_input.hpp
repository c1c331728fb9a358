// Reading a new password for the CLI: from stdin for scripts, or typed twice without echo.
#pragma once

#include <string>

#include "runtime/expected.hpp"

namespace librarian::cli {

// Longest password accepted, from either source.
inline constexpr size_t password_bytes_max = 4096;

// With `from_stdin`, the first line of stdin (without its line ending). Otherwise stdin must be a
// terminal: prompts on stderr with echo off, twice, and fails on a mismatch or an empty password.
[[nodiscard]] expected<std::string> read_new_password(bool from_stdin, const std::string& prompt);

}  // namespace librarian::cli
