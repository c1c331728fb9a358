// Conversion of console tokens into typed message arguments, with messages a user can act on.
#include "runtime/console/arguments.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace librarian::console {
namespace {

// Role names of the HTTP API (DESIGN.md §9); the console speaks the same words.
constexpr std::array<std::string_view, 6> roles{"NONE",       "READONLY",  "CALLBACK",
                                                "READAPPEND", "READWRITE", "ADMIN"};

constexpr size_t name_bytes_max = 128;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool is_name(std::string_view text) {
  if (text.empty() || text.size() > name_bytes_max) return false;
  for (char c : text)
    if (!is_name_char(c)) return false;
  return true;
}

template <class Number>
bool read_number(std::string_view text, Number& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

std::string upper(std::string_view text) {
  std::string out{text};
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string article(arg_type type) {
  auto noun = describe(type);
  bool vowel = noun.find_first_of("aeiou") == 0;
  return std::string{vowel ? "an " : "a "} + std::string{noun};
}

// The conversion proper; `subject` starts the error message ("value", "argument 2 of x.y").
expected<value> convert(arg_type type, const token& tok, std::string_view subject) {
  const std::string& text = tok.text;
  auto wrong = [&] {
    return fail(errc::invalid_argument,
                std::string{subject} + " must be " + article(type) + ", got " + quoted(text));
  };
  switch (type) {
    case arg_type::string:
    case arg_type::any:
      return value{text};
    case arg_type::int64: {
      int64_t n = 0;
      if (text.starts_with('+') || !read_number(text, n)) return wrong();
      return value{n};
    }
    case arg_type::uint64: {
      uint64_t n = 0;
      if (text.starts_with('+') || !read_number(text, n)) return wrong();
      return value{n};
    }
    case arg_type::float64: {
      double n = 0;
      if (tok.kind != token_kind::number || !read_number(text, n) || !std::isfinite(n))
        return wrong();
      return value{n};
    }
    case arg_type::boolean:
      if (text == "true") return value{true};
      if (text == "false") return value{false};
      return wrong();
    case arg_type::duration: {
      auto d = parse_duration(text);
      if (!d) return wrong();
      return value{*d};
    }
    case arg_type::name:
      if (!is_name(text)) return wrong();
      return value{text};
    case arg_type::role:
      for (auto role : roles)
        if (upper(text) == role) return value{std::string{role}};
      return wrong();
  }
  return wrong();
}

}  // namespace

std::string_view describe(arg_type type) {
  switch (type) {
    case arg_type::string:
      return "string";
    case arg_type::int64:
      return "integer";
    case arg_type::uint64:
      return "unsigned integer";
    case arg_type::float64:
      return "number";
    case arg_type::boolean:
      return "boolean (true or false)";
    case arg_type::duration:
      return "duration (like 250ms, 5s, 2m, 1h)";
    case arg_type::name:
      return "name (1-128 of A-Z a-z 0-9 . _ -)";
    case arg_type::role:
      return "role (NONE, READONLY, CALLBACK, READAPPEND, READWRITE or ADMIN)";
    case arg_type::any:
      return "value";
  }
  return "value";
}

expected<value> parse_value(arg_type type, const token& tok) {
  return convert(type, tok, "value");
}

expected<std::vector<value>> bind_args(const message_signature& signature,
                                       const std::vector<token>& args) {
  std::string qualified = signature.actor + "." + signature.message;
  if (args.size() != signature.args.size()) {
    auto wanted = signature.args.size();
    return fail(errc::invalid_argument, qualified + " takes " + std::to_string(wanted) +
                                            (wanted == 1 ? " argument" : " arguments") + ", got " +
                                            std::to_string(args.size()) +
                                            "; usage: " + usage(signature));
  }
  std::vector<value> values;
  values.reserve(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    auto subject =
        "argument " + std::to_string(i + 1) + " (" + signature.args[i].first + ") of " + qualified;
    auto converted = convert(signature.args[i].second, args[i], subject);
    if (!converted) return converted.err();
    values.push_back(std::move(*converted));
  }
  return values;
}

std::string usage(const message_signature& signature) {
  std::string out = signature.actor + " " + signature.message;
  for (const auto& [arg_name, type] : signature.args) {
    out += " ";
    out += upper(arg_name);
    out += ":";
    switch (type) {
      case arg_type::string:
        out += "string";
        break;
      case arg_type::int64:
        out += "int";
        break;
      case arg_type::uint64:
        out += "uint";
        break;
      case arg_type::float64:
        out += "float";
        break;
      case arg_type::boolean:
        out += "bool";
        break;
      case arg_type::duration:
        out += "duration";
        break;
      case arg_type::name:
        out += "name";
        break;
      case arg_type::role:
        out += "role";
        break;
      case arg_type::any:
        out += "any";
        break;
    }
  }
  return out;
}

std::string help_line(const message_signature& signature) {
  auto line = usage(signature);
  if (!signature.summary.empty()) line += "  " + signature.summary;
  return line;
}

std::string to_text(const value& v) {
  struct printer {
    std::string operator()(const std::string& s) const { return quoted(s, s.size()); }
    std::string operator()(int64_t n) const { return std::to_string(n); }
    std::string operator()(uint64_t n) const { return std::to_string(n); }
    std::string operator()(double n) const {
      std::array<char, 64> buffer{};
      auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), n);
      return ec == std::errc{} ? std::string(buffer.data(), end) : std::string{"nan"};
    }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::chrono::milliseconds d) const { return format_duration(d); }
  };
  return std::visit(printer{}, v);
}

}  // namespace librarian::console
