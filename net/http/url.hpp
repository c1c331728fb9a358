// Percent-encoding and query-string parsing shared by the server, the router and the CLI client.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace librarian::net::http {

// Decodes %XX escapes (and '+' as a space when `plus_as_space`, as in query strings); nullopt
// for a broken escape or an encoded NUL, which no name in this product may contain.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text,
                                                        bool plus_as_space = false);
// Escapes everything but RFC 3986 unreserved characters, so any name fits in one path segment.
[[nodiscard]] std::string percent_encode(std::string_view text);
// "a=1&b=x%20y" → {a: 1, b: "x y"}; nullopt when an escape is broken.
[[nodiscard]] std::optional<std::map<std::string, std::string>> parse_query(std::string_view text);

}  // namespace librarian::net::http
