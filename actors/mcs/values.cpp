// Typed attribute values (see values.hpp for the formats).
#include "actors/mcs/values.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace librarian::mcs {
namespace {

constexpr int64_t micros_per_second = 1000000;
constexpr int64_t micros_per_day = 86400 * micros_per_second;
constexpr uint64_t sign_bit = uint64_t{1} << 63;

error bad_value(attr_type t, std::string_view text, const char* why) {
  std::string shown{text.substr(0, 64)};
  if (text.size() > 64) shown += "...";
  return fail(errc::invalid_argument,
              "'" + shown + "' is not a valid " + attr_type_name(t) + " value: " + why);
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct civil {
  int64_t y;
  unsigned m;
  unsigned d;
};

civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Exactly `width` decimal digits at text[pos..].
std::optional<unsigned> digits(std::string_view text, size_t pos, size_t width) {
  if (pos + width > text.size()) return std::nullopt;
  unsigned v = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return v;
}

// YYYY-MM-DD at the start of text -> days.
expected<int64_t> parse_date_part(attr_type t, std::string_view text) {
  auto y = digits(text, 0, 4);
  auto m = digits(text, 5, 2);
  auto d = digits(text, 8, 2);
  if (!y || !m || !d || text[4] != '-' || text[7] != '-')
    return bad_value(t, text, "write dates as YYYY-MM-DD");
  if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
    return bad_value(t, text, "no such calendar date");
  return days_from_civil(*y, *m, *d);
}

// HH:MM:SS[.f{1,6}] filling all of text -> microseconds since midnight.
expected<int64_t> parse_time_part(attr_type t, std::string_view text) {
  auto h = digits(text, 0, 2);
  auto mi = digits(text, 3, 2);
  auto s = digits(text, 6, 2);
  if (!h || !mi || !s || text.size() < 8 || text[2] != ':' || text[5] != ':')
    return bad_value(t, text, "write times as HH:MM:SS[.ffffff]");
  if (*h > 23 || *mi > 59 || *s > 59) return bad_value(t, text, "no such time of day");
  int64_t micros = ((*h * 60 + *mi) * 60 + *s) * micros_per_second;
  if (text.size() == 8) return micros;
  size_t frac = text.size() - 9;
  if (text[8] != '.' || frac < 1 || frac > 6)
    return bad_value(t, text, "at most 6 fractional digits after a '.'");
  auto f = digits(text, 9, frac);
  if (!f) return bad_value(t, text, "the fraction must be digits");
  int64_t scaled = *f;
  for (size_t i = frac; i < 6; ++i) scaled *= 10;
  return micros + scaled;
}

expected<typed_value> parse_number(attr_type t, std::string_view text) {
  typed_value v{t, {}, 0, 0};
  const char* end = text.data() + text.size();
  if (t == attr_type::int_v) {
    auto [p, ec] = std::from_chars(text.data(), end, v.number);
    if (text.empty() || ec != std::errc{} || p != end)
      return bad_value(t, text, "expected a 64-bit decimal integer");
    return v;
  }
  auto [p, ec] = std::from_chars(text.data(), end, v.real);
  if (text.empty() || ec != std::errc{} || p != end || !std::isfinite(v.real))
    return bad_value(t, text, "expected a finite decimal number");
  if (v.real == 0) v.real = 0;  // -0.0 and 0.0 are one value (and one key)
  return v;
}

std::string two(unsigned v) {
  char buf[3] = {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10), 0};
  return buf;
}

std::string format_date(int64_t days) {
  auto c = civil_from_days(days);
  char buf[64];  // an int64 read back from disk may hold any year
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.y), c.m, c.d);
  return buf;
}

std::string format_time(int64_t micros) {
  auto secs = micros / micros_per_second;
  auto frac = micros % micros_per_second;
  auto out = two(static_cast<unsigned>(secs / 3600)) + ":" +
             two(static_cast<unsigned>(secs / 60 % 60)) + ":" +
             two(static_cast<unsigned>(secs % 60));
  if (frac == 0) return out;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06lld", static_cast<long long>(frac));
  return out + "." + buf;
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);
}

}  // namespace

std::optional<attr_type> attr_type_from_name(std::string_view name) {
  if (name == "string" || name == "str") return attr_type::string_v;
  if (name == "int" || name == "integer") return attr_type::int_v;
  if (name == "float" || name == "double") return attr_type::float_v;
  if (name == "date") return attr_type::date_v;
  if (name == "time") return attr_type::time_v;
  if (name == "datetime") return attr_type::datetime_v;
  return std::nullopt;
}

const char* attr_type_name(attr_type t) {
  switch (t) {
    case attr_type::string_v:
      return "string";
    case attr_type::int_v:
      return "int";
    case attr_type::float_v:
      return "float";
    case attr_type::date_v:
      return "date";
    case attr_type::time_v:
      return "time";
    case attr_type::datetime_v:
      return "datetime";
  }
  return "unknown";
}

bool valid_attr_type(uint8_t raw) {
  return raw >= 1 && raw <= 6;
}

expected<typed_value> parse_value(attr_type t, std::string_view text, size_t bytes_max) {
  switch (t) {
    case attr_type::string_v:
      if (text.size() > bytes_max)
        return bad_value(t, text, ("longer than " + std::to_string(bytes_max) + " bytes").c_str());
      if (text.find('\0') != std::string_view::npos) return bad_value(t, text, "contains NUL");
      return typed_value{t, std::string{text}, 0, 0};
    case attr_type::int_v:
    case attr_type::float_v:
      return parse_number(t, text);
    case attr_type::date_v: {
      if (text.size() != 10) return bad_value(t, text, "write dates as YYYY-MM-DD");
      auto days = parse_date_part(t, text);
      if (!days) return days.err();
      return typed_value{t, {}, *days, 0};
    }
    case attr_type::time_v: {
      auto micros = parse_time_part(t, text);
      if (!micros) return micros.err();
      return typed_value{t, {}, *micros, 0};
    }
    case attr_type::datetime_v: {
      if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
      if (text.size() < 19 || (text[10] != 'T' && text[10] != ' '))
        return bad_value(t, text, "write date-times as YYYY-MM-DDTHH:MM:SS[.ffffff][Z]");
      auto days = parse_date_part(t, text.substr(0, 10));
      if (!days) return days.err();
      auto micros = parse_time_part(t, text.substr(11));
      if (!micros) return micros.err();
      return typed_value{t, {}, *days * micros_per_day + *micros, 0};
    }
  }
  return fail(errc::invalid_argument, "unknown attribute type");
}

std::string format_value(const typed_value& v) {
  switch (v.type) {
    case attr_type::string_v:
      return v.text;
    case attr_type::int_v:
      return std::to_string(v.number);
    case attr_type::float_v: {
      char buf[32];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.real);  // shortest round-trip form
      return ec == std::errc{} ? std::string(buf, p) : std::string{"nan"};
    }
    case attr_type::date_v:
      return format_date(v.number);
    case attr_type::time_v:
      return format_time(v.number);
    case attr_type::datetime_v: {
      auto days = floor_div(v.number, micros_per_day);
      return format_date(days) + "T" + format_time(v.number - days * micros_per_day) + "Z";
    }
  }
  return {};
}

void append_value(std::string& key, const typed_value& v) {
  switch (v.type) {
    case attr_type::string_v:
      storage::append_string(key, v.text);
      return;
    case attr_type::float_v: {
      // IEEE bits sort like the numbers once negatives are inverted and positives get the sign bit.
      auto bits = std::bit_cast<uint64_t>(v.real);
      storage::append_u64(key, (bits & sign_bit) ? ~bits : bits | sign_bit);
      return;
    }
    default:
      storage::append_i64(key, v.number);
      return;
  }
}

expected<typed_value> read_value(attr_type t, storage::key_reader& reader) {
  typed_value v{t, {}, 0, 0};
  switch (t) {
    case attr_type::string_v: {
      auto s = reader.read_string();
      if (!s) return s.err();
      v.text = std::move(*s);
      return v;
    }
    case attr_type::float_v: {
      auto raw = reader.read_u64();
      if (!raw) return raw.err();
      auto bits = (*raw & sign_bit) ? *raw & ~sign_bit : ~*raw;
      v.real = std::bit_cast<double>(bits);
      if (!std::isfinite(v.real)) return fail(errc::internal, "corrupt key: a non-finite float");
      return v;
    }
    default: {
      auto n = reader.read_i64();
      if (!n) return n.err();
      v.number = *n;
      return v;
    }
  }
}

int compare_values(const typed_value& a, const typed_value& b) {
  if (a.type == attr_type::string_v) return a.text < b.text ? -1 : (a.text == b.text ? 0 : 1);
  if (a.type == attr_type::float_v) return a.real < b.real ? -1 : (a.real == b.real ? 0 : 1);
  return a.number < b.number ? -1 : (a.number == b.number ? 0 : 1);
}

bool like_match(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point (the last %): O(|pattern| * |text|) at worst.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      bool escaped = pattern[p] == '\\' && p + 1 < pattern.size();
      char want = escaped ? pattern[p + 1] : pattern[p];
      if ((!escaped && want == '_') || want == text[t]) {
        p += escaped ? 2 : 1;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

std::string like_literal_prefix(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' || pattern[i] == '_') break;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
    out.push_back(pattern[i]);
  }
  return out;
}

}  // namespace librarian::mcs
