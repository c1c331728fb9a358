// Typed arguments of console messages: what each actor message takes, and the conversion of
// tokens into the values the executor packs into a CAF message.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/console/tokenizer.hpp"
#include "runtime/expected.hpp"

namespace librarian::console {

enum class arg_type {
  string,    // any token, its text
  int64,     // -9223372036854775808 .. 9223372036854775807
  uint64,    // 0 .. 18446744073709551615
  float64,   // a finite decimal number: 0.05, 1e-3
  boolean,   // true | false
  duration,  // 250ms | 5s | 2m | 1h, see parse_duration
  name,      // [A-Za-z0-9._-]{1,128}: LFNs, users, stores, nodes
  role,      // NONE | READONLY | CALLBACK | READAPPEND | READWRITE | ADMIN (any case)
  any,       // the token's text unchanged; the receiving actor decides
};

// One converted argument. string, name, role and any all become std::string (a role in upper
// case); duration becomes milliseconds.
using value = std::variant<std::string, int64_t, uint64_t, double, bool, std::chrono::milliseconds>;

// "integer", "role (NONE, READONLY, ...)": how usage() and error messages call a type.
[[nodiscard]] std::string_view describe(arg_type type);

// Errors are invalid_argument: "value must be an integer, got \"x\"".
[[nodiscard]] expected<value> parse_value(arg_type type, const token& tok);

// What a message of an actor takes; the executor's catalog holds one per message and `help`
// prints them.
struct message_signature {
  std::string actor;    // "users"
  std::string message;  // "create"
  std::vector<std::pair<std::string /*arg name*/, arg_type>> args;
  std::string summary;  // one line for `help`
};

// All arguments converted in order, or the first problem: a wrong count ("users.create takes 3
// arguments, got 2; usage: users create NAME:name ...") or a wrong type ("argument 2
// (PASSWORD) of users.create must be a string, got ...").
[[nodiscard]] expected<std::vector<value>> bind_args(const message_signature& signature,
                                                     const std::vector<token>& args);

// "users create NAME:name PASSWORD:string ROLE:role"
[[nodiscard]] std::string usage(const message_signature& signature);

// usage() followed by two spaces and the summary, for `help ACTOR`.
[[nodiscard]] std::string help_line(const message_signature& signature);

// A value printed the way the language writes it: strings quoted, durations as "5s".
[[nodiscard]] std::string to_text(const value& v);

}  // namespace librarian::console
