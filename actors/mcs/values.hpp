// Typed attribute values of the Metadata Catalog (string, int, float, date, time, datetime): how
// users write them, how they are shown, and the order-preserving key form the attribute index
// sorts by, so equality and range conditions are index scans.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/expected.hpp"
#include "storage/keys.hpp"

namespace librarian::mcs {

enum class attr_type : uint8_t {
  string_v = 1,
  int_v = 2,
  float_v = 3,
  date_v = 4,      // YYYY-MM-DD, kept as days since 1970-01-01
  time_v = 5,      // HH:MM:SS[.ffffff], kept as microseconds since midnight
  datetime_v = 6,  // YYYY-MM-DDTHH:MM:SS[.ffffff][Z] (UTC), kept as microseconds since the epoch
};

// "string", "int", "float", "date", "time", "datetime" (also "integer", "str", "double").
[[nodiscard]] std::optional<attr_type> attr_type_from_name(std::string_view name);
[[nodiscard]] const char* attr_type_name(attr_type t);
[[nodiscard]] bool valid_attr_type(uint8_t raw);

struct typed_value {
  attr_type type = attr_type::string_v;
  std::string text;    // string values
  int64_t number = 0;  // int, date, time, datetime
  double real = 0;     // float
  friend bool operator==(const typed_value&, const typed_value&) = default;
};

// Parses user text as a value of type t. Strings: at most bytes_max bytes, no NUL byte.
// Floats: finite. Dates and times: real calendar dates, 0001-01-01 .. 9999-12-31.
[[nodiscard]] expected<typed_value> parse_value(attr_type t, std::string_view text,
                                                size_t bytes_max);
// The canonical text of a value; parse_value(format_value(v)) == v.
[[nodiscard]] std::string format_value(const typed_value& v);
// Appends the order-preserving key form: values of one type sort as bytes like the values.
void append_value(std::string& key, const typed_value& v);
// Reads a value of type t back from a key (the value column of the values table or the index).
[[nodiscard]] expected<typed_value> read_value(attr_type t, storage::key_reader& reader);
// -1, 0, 1; both of the same type.
[[nodiscard]] int compare_values(const typed_value& a, const typed_value& b);

// SQL LIKE: % any run of bytes, _ one byte, \ escapes the next byte.
[[nodiscard]] bool like_match(std::string_view pattern, std::string_view text);
// The bytes every match starts with (up to the first unescaped wildcard).
[[nodiscard]] std::string like_literal_prefix(std::string_view pattern);

}  // namespace librarian::mcs
