// Parsing and checking of reply expectations.
#include "runtime/console/expectation.hpp"

#include <charconv>

namespace librarian::console {
namespace {

error bad(std::string message) {
  return fail(errc::invalid_argument, std::move(message));
}

std::string without_trailing_newline(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  return std::string{text};
}

// How the actual reply is shown in a failure message.
std::string shown(const reply& actual) {
  if (!actual.ok) {
    std::string out = "error " + std::string{name(actual.code)};
    if (!actual.error_message.empty()) out += ": " + actual.error_message;
    return out;
  }
  return "reply " + quoted(actual.text);
}

status mismatch(const expectation& wanted, const reply& actual) {
  return bad("expected " + to_text(wanted) + ", got " + shown(actual));
}

expected<expectation> parse_error_code(const std::vector<token>& tokens) {
  expectation result{expectation_kind::error};
  if (tokens.size() == 1) return result;
  if (tokens.size() > 2)
    return bad("column " + std::to_string(tokens[2].column) + ": unexpected " +
               quoted(tokens[2].text) + " after the error code");
  auto code = errc_from_name(tokens[1].text);
  if (!code || *code == errc::ok)
    return bad("column " + std::to_string(tokens[1].column) + ": unknown error code " +
               quoted(tokens[1].text) + " (not_found, already_exists, invalid_argument, ...)");
  result.code = *code;
  return result;
}

}  // namespace

expected<expectation> parse_expectation(const std::vector<token>& tokens) {
  if (tokens.empty())
    return bad("missing expectation after => (ok, error, contains, equals, count)");
  const token& head = tokens.front();
  if (head.kind != token_kind::word)
    return bad("column " + std::to_string(head.column) + ": expected ok, error, contains, " +
               "equals or count, got " + quoted(head.text));
  if (head.text == "error") return parse_error_code(tokens);
  expectation result;
  size_t operands = 0;
  if (head.text == "ok") {
    result.kind = expectation_kind::ok;
  } else if (head.text == "contains" || head.text == "equals") {
    result.kind = head.text == "contains" ? expectation_kind::contains : expectation_kind::equals;
    operands = 1;
    if (tokens.size() >= 2) result.text = tokens[1].text;
  } else if (head.text == "count") {
    result.kind = expectation_kind::count;
    operands = 1;
    if (tokens.size() >= 2) {
      const auto& n = tokens[1].text;
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), result.count);
      if (ec != std::errc{} || end != n.data() + n.size())
        return bad("column " + std::to_string(tokens[1].column) +
                   ": count needs a whole number, got " + quoted(n));
    }
  } else {
    return bad("column " + std::to_string(head.column) + ": unknown expectation " +
               quoted(head.text) + " (ok, error, contains, equals, count)");
  }
  if (tokens.size() < operands + 1) return bad(head.text + " needs a value after it");
  if (tokens.size() > operands + 1)
    return bad("column " + std::to_string(tokens[operands + 1].column) + ": unexpected " +
               quoted(tokens[operands + 1].text) + " after the expectation");
  return result;
}

uint64_t count_items(std::string_view text) {
  if (text.empty()) return 0;
  uint64_t lines = 1;
  for (char c : text)
    if (c == '\n') ++lines;
  return text.ends_with('\n') ? lines - 1 : lines;
}

status check(const expectation& wanted, const reply& actual) {
  switch (wanted.kind) {
    case expectation_kind::ok:
      break;
    case expectation_kind::error:
      if (actual.ok || (wanted.code && *wanted.code != actual.code))
        return mismatch(wanted, actual);
      return {};
    case expectation_kind::contains:
      if (actual.ok && actual.text.find(wanted.text) == std::string::npos)
        return mismatch(wanted, actual);
      break;
    case expectation_kind::equals:
      if (actual.ok &&
          without_trailing_newline(actual.text) != without_trailing_newline(wanted.text))
        return mismatch(wanted, actual);
      break;
    case expectation_kind::count:
      if (actual.ok && count_items(actual.text) != wanted.count)
        return bad("expected " + to_text(wanted) + ", got " +
                   std::to_string(count_items(actual.text)) + " items: " + quoted(actual.text));
      break;
  }
  if (!actual.ok) return mismatch(wanted, actual);
  return {};
}

std::string to_text(const expectation& wanted) {
  switch (wanted.kind) {
    case expectation_kind::ok:
      return "ok";
    case expectation_kind::error:
      return wanted.code ? "error " + std::string{name(*wanted.code)} : "error";
    case expectation_kind::contains:
      return "contains " + quoted(wanted.text, wanted.text.size());
    case expectation_kind::equals:
      return "equals " + quoted(wanted.text, wanted.text.size());
    case expectation_kind::count:
      return "count " + std::to_string(wanted.count);
  }
  return "ok";
}

}  // namespace librarian::console
