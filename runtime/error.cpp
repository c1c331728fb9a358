#include "runtime/error.hpp"

#include <array>

namespace librarian {
namespace {

struct errc_row {
  errc code;
  std::string_view name;
  int http;
  int exit;
  std::string_view hint;
};

constexpr std::array<errc_row, errc_max + 1> rows{{
    {errc::ok, "ok", 200, 0, "nothing to do"},
    {errc::not_found, "not_found", 404, 2, "check the name; list what exists first"},
    {errc::already_exists, "already_exists", 409, 3, "pick another name or delete the old one"},
    {errc::invalid_argument, "invalid_argument", 400, 4, "fix the request as the message says"},
    {errc::unauthenticated, "unauthenticated", 401, 5,
     "check the user and password (or token) of the connection"},
    {errc::forbidden, "forbidden", 403, 6, "ask an administrator for a role that allows this"},
    {errc::conflict, "conflict", 409, 7, "the state changed underneath; re-read it and retry"},
    {errc::unavailable, "unavailable", 503, 8,
     "the node or peer is down or unreachable; retry later"},
    {errc::timeout, "timeout", 504, 9, "the operation took too long; retry or raise the timeout"},
    {errc::checksum_mismatch, "checksum_mismatch", 422, 10,
     "the data is corrupt; transfer it again from a good copy"},
    {errc::storage_full, "storage_full", 507, 11, "free space on the store or add capacity"},
    {errc::internal, "internal", 500, 12, "a bug or an I/O failure; see the node's log"},
}};

const errc_row& row(errc code) {
  auto index = static_cast<size_t>(code);
  return index < rows.size() ? rows[index] : rows.back();
}

}  // namespace

std::string_view name(errc code) {
  return row(code).name;
}
int http_status(errc code) {
  return row(code).http;
}
int exit_code(errc code) {
  return row(code).exit;
}
std::string_view hint(errc code) {
  return row(code).hint;
}

std::optional<errc> errc_from_name(std::string_view text) {
  for (const auto& r : rows)
    if (r.name == text) return r.code;
  return std::nullopt;
}

std::string error::describe() const {
  std::string out{name(code)};
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace librarian
