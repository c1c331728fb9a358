// The closed list of error codes every part of the product reports, and how each one reaches
// users: an HTTP status, a CLI exit code and a hint that tells them what to do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace librarian {

// A code exists only when some caller reacts to it differently (FoundationDB's rule).
enum class errc : uint8_t {
  ok = 0,
  not_found = 1,
  already_exists = 2,
  invalid_argument = 3,
  unauthenticated = 4,
  forbidden = 5,
  conflict = 6,
  unavailable = 7,
  timeout = 8,
  checksum_mismatch = 9,
  storage_full = 10,
  internal = 11,
};

inline constexpr uint8_t errc_max = static_cast<uint8_t>(errc::internal);

// Stable snake_case name, used in JSON error bodies ({"error": NAME}) and console output.
[[nodiscard]] std::string_view name(errc code);
[[nodiscard]] std::optional<errc> errc_from_name(std::string_view name);
[[nodiscard]] int http_status(errc code);
// Exit codes of the CLI tools: 0 ok, 1 usage errors are CLI11's, 2.. one per code.
[[nodiscard]] int exit_code(errc code);
// One sentence on what the user can do about it.
[[nodiscard]] std::string_view hint(errc code);

struct error {
  errc code = errc::internal;
  std::string message;

  // "not_found: user 'x' does not exist"
  [[nodiscard]] std::string describe() const;
  friend bool operator==(const error&, const error&) = default;
};

[[nodiscard]] inline error fail(errc code, std::string message) {
  return error{code, std::move(message)};
}

}  // namespace librarian
