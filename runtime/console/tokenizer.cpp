// Tokenizer of the console language: bare words, quoted strings with escapes, numbers, '|'.
#include "runtime/console/tokenizer.hpp"

#include <charconv>
#include <cstdint>

namespace librarian::console {
namespace {

// Tab is whitespace; every other control character is refused so that a stray byte from a
// pasted binary or a CRLF file never reaches an actor as part of a name.
bool is_control(char c) {
  auto byte = static_cast<unsigned char>(c);
  return (byte < 0x20 && c != '\t') || byte == 0x7f;
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

bool ends_word(char c) {
  return is_space(c) || c == '"' || c == '#' || c == '|';
}

error error_at(size_t column, std::string message) {
  return fail(errc::invalid_argument, "column " + std::to_string(column) + ": " + message);
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

// -12, 3.5, 1e3, +0.25e-2: sign, digits, optional fraction, optional exponent.
bool looks_like_number(std::string_view text) {
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  auto exponent = text.find_first_of("eE");
  auto mantissa = text.substr(0, exponent);
  auto dot = mantissa.find('.');
  if (!all_digits(mantissa.substr(0, dot))) return false;
  if (dot != std::string_view::npos && !all_digits(mantissa.substr(dot + 1))) return false;
  if (exponent == std::string_view::npos) return true;
  auto power = text.substr(exponent + 1);
  if (!power.empty() && (power.front() == '-' || power.front() == '+')) power.remove_prefix(1);
  return all_digits(power);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the string starting at line[pos] == '"'; on success pos is one past the closing quote.
expected<token> read_string(std::string_view line, size_t& pos) {
  token result{token_kind::string, {}, pos + 1};
  size_t start = pos++;
  while (pos < line.size()) {
    char c = line[pos];
    if (c == '"') {
      ++pos;
      return result;
    }
    if (is_control(c))
      return error_at(pos + 1, "control character in string; use \\n, \\t or \\xHH");
    if (c != '\\') {
      result.text += c;
      ++pos;
      continue;
    }
    if (pos + 1 >= line.size()) break;
    char escape = line[pos + 1];
    switch (escape) {
      case '"':
        result.text += '"';
        break;
      case '\\':
        result.text += '\\';
        break;
      case 'n':
        result.text += '\n';
        break;
      case 't':
        result.text += '\t';
        break;
      case 'x': {
        int high = pos + 2 < line.size() ? hex_digit(line[pos + 2]) : -1;
        int low = pos + 3 < line.size() ? hex_digit(line[pos + 3]) : -1;
        if (high < 0 || low < 0) return error_at(pos + 1, "\\x needs two hex digits");
        result.text += static_cast<char>(high * 16 + low);
        pos += 2;
        break;
      }
      default:
        return error_at(
            pos + 1, std::string{"unknown escape \\"} + escape + " (use \\\" \\\\ \\n \\t \\xHH)");
    }
    pos += 2;
  }
  return error_at(start + 1, "unterminated string (missing closing \")");
}

expected<token> read_word(std::string_view line, size_t& pos) {
  token result{token_kind::word, {}, pos + 1};
  while (pos < line.size() && !ends_word(line[pos])) {
    if (is_control(line[pos])) return error_at(pos + 1, "control character in word");
    result.text += line[pos++];
  }
  if (looks_like_number(result.text)) result.kind = token_kind::number;
  return result;
}

}  // namespace

expected<std::vector<token>> tokenize(std::string_view line) {
  if (line.size() > line_bytes_max)
    return fail(errc::invalid_argument, "line is " + std::to_string(line.size()) +
                                            " bytes long, the limit is " +
                                            std::to_string(line_bytes_max));
  std::vector<token> tokens;
  size_t pos = 0;
  while (pos < line.size()) {
    char c = line[pos];
    if (is_space(c)) {
      ++pos;
    } else if (c == '#') {
      break;
    } else if (c == '|') {
      tokens.push_back(token{token_kind::bar, "|", pos + 1});
      ++pos;
    } else {
      auto next = c == '"' ? read_string(line, pos) : read_word(line, pos);
      if (!next) return next.err();
      tokens.push_back(std::move(*next));
    }
  }
  return tokens;
}

expected<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto digits_end = text.find_first_not_of("0123456789");
  auto digits = text.substr(0, digits_end);
  auto unit = digits_end == std::string_view::npos ? std::string_view{} : text.substr(digits_end);
  auto bad = [&](std::string why) {
    return fail(errc::invalid_argument,
                "expected a duration like 250ms, 5s, 2m or 1h, got " + quoted(text) + ": " + why);
  };
  if (digits.empty()) return bad("it must start with a whole number");
  int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else
    return bad(unit.empty() ? "the unit (ms, s, m or h) is missing" : "unknown unit");
  uint64_t amount = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), amount);
  uint64_t limit = static_cast<uint64_t>(duration_max.count() / scale);
  if (ec != std::errc{} || end != digits.data() + digits.size() || amount > limit)
    return bad("it is longer than the limit of " + format_duration(duration_max));
  return std::chrono::milliseconds{static_cast<int64_t>(amount) * scale};
}

std::string format_duration(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string quoted(std::string_view text, size_t bytes_max) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == bytes_max) {
      out += "...";
      break;
    }
    char c = text[i];
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace librarian::console
