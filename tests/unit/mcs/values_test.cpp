// Typed attribute values: parsing, canonical text, and key order that matches value order.
#include <doctest/doctest.h>

#include <random>
#include <regex>

#include "actors/mcs/values.hpp"

using namespace librarian;
using namespace librarian::mcs;

namespace {

std::string key_of(const typed_value& v) {
  std::string k;
  append_value(k, v);
  return k;
}

typed_value must(attr_type t, std::string_view text) {
  auto v = parse_value(t, text, 4096);
  REQUIRE_MESSAGE(v.has_value(), text);
  return *v;
}

}  // namespace

TEST_CASE("values of every type parse, print canonically and read back from their key") {
  struct sample {
    attr_type type;
    const char* text;
    const char* canonical;
  };
  sample samples[] = {
      {attr_type::string_v, "hello world", "hello world"},
      {attr_type::int_v, "-42", "-42"},
      {attr_type::float_v, "2.50", "2.5"},
      {attr_type::float_v, "-0.0", "0"},
      {attr_type::date_v, "2024-02-29", "2024-02-29"},
      {attr_type::date_v, "1969-12-31", "1969-12-31"},
      {attr_type::time_v, "23:59:59.5", "23:59:59.500000"},
      {attr_type::datetime_v, "2003-11-15T08:30:00Z", "2003-11-15T08:30:00Z"},
      {attr_type::datetime_v, "1960-01-01 00:00:00.000001", "1960-01-01T00:00:00.000001Z"},
  };
  for (const auto& s : samples) {
    auto v = must(s.type, s.text);
    CHECK(format_value(v) == s.canonical);
    CHECK(must(s.type, format_value(v)) == v);
    auto key = key_of(v);
    storage::key_reader reader{key};
    auto back = read_value(s.type, reader);
    REQUIRE(back.has_value());
    CHECK(*back == v);
    CHECK(reader.done());
  }
}

TEST_CASE("values that do not parse as their type are refused with the reason") {
  struct bad {
    attr_type type;
    const char* text;
  };
  bad cases[] = {{attr_type::int_v, "12x"},
                 {attr_type::int_v, ""},
                 {attr_type::int_v, "99999999999999999999"},
                 {attr_type::float_v, "nan"},
                 {attr_type::float_v, "1e999"},
                 {attr_type::date_v, "2023-02-29"},
                 {attr_type::date_v, "2023-13-01"},
                 {attr_type::date_v, "23-01-01"},
                 {attr_type::time_v, "24:00:00"},
                 {attr_type::time_v, "12:00:00.1234567"},
                 {attr_type::datetime_v, "2023-01-01"},
                 {attr_type::datetime_v, "2023-01-01X10:00:00"}};
  for (const auto& c : cases) {
    auto v = parse_value(c.type, c.text, 4096);
    REQUIRE_FALSE_MESSAGE(v.has_value(), c.text);
    CHECK(v.err().code == errc::invalid_argument);
    CHECK(v.err().message.find(attr_type_name(c.type)) != std::string::npos);
  }
  CHECK_FALSE(parse_value(attr_type::string_v, std::string(5000, 'x'), 4096).has_value());
  CHECK_FALSE(parse_value(attr_type::string_v, std::string("a\0b", 3), 4096).has_value());
}

TEST_CASE("key order equals value order for random values of every type") {
  std::mt19937_64 rng{7};
  std::uniform_int_distribution<int64_t> ints{-1000000, 1000000};
  std::uniform_real_distribution<double> reals{-1e6, 1e6};
  for (int i = 0; i < 5000; ++i) {
    for (auto t :
         {attr_type::int_v, attr_type::float_v, attr_type::string_v, attr_type::datetime_v}) {
      typed_value a{t, {}, 0, 0}, b{t, {}, 0, 0};
      if (t == attr_type::float_v) {
        a.real = reals(rng) * (i % 3 == 0 ? 1e-9 : 1);
        b.real = reals(rng);
      } else if (t == attr_type::string_v) {
        for (int n = static_cast<int>(rng() % 6); n > 0; --n)
          a.text.push_back(static_cast<char>(1 + rng() % 255));
        for (int n = static_cast<int>(rng() % 6); n > 0; --n)
          b.text.push_back(static_cast<char>(1 + rng() % 255));
      } else {
        a.number = ints(rng);
        b.number = ints(rng);
      }
      int by_value = compare_values(a, b);
      auto ka = key_of(a), kb = key_of(b);
      int by_key = ka < kb ? -1 : (ka == kb ? 0 : 1);
      REQUIRE(by_value == by_key);
    }
  }
}

TEST_CASE("like matches as SQL LIKE does (checked against a regex) and gives its literal prefix") {
  std::mt19937_64 rng{11};
  const std::string alphabet = "ab%_";
  for (int i = 0; i < 20000; ++i) {
    std::string pattern, text;
    for (int n = static_cast<int>(rng() % 6); n > 0; --n) pattern.push_back(alphabet[rng() % 4]);
    for (int n = static_cast<int>(rng() % 7); n > 0; --n) text.push_back("ab"[rng() % 2]);
    std::string re;
    for (char ch : pattern) re += ch == '%' ? ".*" : (ch == '_' ? "." : std::string(1, ch));
    bool want = std::regex_match(text, std::regex{re});
    REQUIRE_MESSAGE(like_match(pattern, text) == want, pattern << " vs " << text);
    if (want) CHECK(text.rfind(like_literal_prefix(pattern), 0) == 0);
  }
  CHECK(like_match("100\\%", "100%"));
  CHECK_FALSE(like_match("100\\%", "1000"));
  CHECK(like_literal_prefix("run\\_%x") == "run_");
}
