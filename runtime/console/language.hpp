// The console language shared by librarian-console and librarian-sim: one command per line,
// parsed into a plain `command` that the tool's executor turns into CAF messages. CAF-free on
// purpose, so parsing and checking are tested without an actor system. Grammar: docs/console.md.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/console/arguments.hpp"
#include "runtime/console/expectation.hpp"
#include "runtime/console/tokenizer.hpp"
#include "runtime/expected.hpp"

namespace librarian::console {

enum class command_kind {
  // Both tools.
  send,     // send TARGET MESSAGE [ARG ...]
  ask,      // ask TARGET MESSAGE [ARG ...] [within DURATION] [=> EXPECTATION]
  members,  // members [=> EXPECTATION]
  help,     // help [ACTOR [MESSAGE]]
  sleep,    // sleep DURATION
  echo,     // echo TEXT...
  set,      // set NAME VALUE
  quit,     // quit | exit
  // Simulator only (world commands); the console refuses them. is_simulator_only relies on
  // every one of them coming after `advance`: add new world kinds here, at the end.
  advance,     // advance DURATION
  crash,       // crash NODE
  restart,     // restart NODE
  partition,   // partition NODE[,NODE...] | NODE[,NODE...]
  isolate,     // isolate NODE
  heal,        // heal
  clog,        // clog NODE NODE
  unclog,      // unclog NODE NODE
  fault,       // fault NAME VALUE
  expect,      // expect ask|members ... => EXPECTATION   (checked once, now)
  eventually,  // eventually DURATION ask|members ... => EXPECTATION   (retried until it holds)
};

// `users` or `node-a/users`; node is empty when the line did not name one.
struct target {
  std::string node;
  std::string actor;

  friend bool operator==(const target&, const target&) = default;
};

// One parsed line. Only the fields of its kind are set; the comment says which kinds use each.
struct command {
  command_kind kind = command_kind::echo;
  size_t line = 0;  // 1-based line in its source, set by the driver

  target to;                // send, ask; help: to.actor is the optional ACTOR
  std::string message;      // send, ask; help: the optional MESSAGE
  std::vector<token> args;  // send, ask: raw arguments, typed later with bind_args
  std::optional<std::chrono::milliseconds> within;  // ask: per-ask timeout
  std::optional<expectation> expect;                // ask, members (always set under expect
                                                    // and eventually: `ok` when not written)
  std::chrono::milliseconds duration{0};            // sleep, advance, eventually
  std::string text;                                 // echo: the words joined by one space
  std::string setting;                              // set, fault: NAME
  std::optional<token> setting_value;               // set, fault: VALUE, unconverted
  std::vector<std::string> nodes;                   // crash, restart, isolate: 1; clog, unclog: 2;
                                                    // partition: the left side
  std::vector<std::string> other_side;              // partition: the right side
  std::shared_ptr<const command> inner;  // expect, eventually: the ask or members to check
};

// "ask", "partition": the command word of a kind.
[[nodiscard]] std::string_view keyword(command_kind kind);

// World commands and expect/eventually need a simulated world; librarian-console refuses them.
[[nodiscard]] bool is_simulator_only(command_kind kind);

// One line; nullopt for a blank or comment-only line. Errors are invalid_argument and name the
// column where the problem starts when there is one.
[[nodiscard]] expected<std::optional<command>> parse_line(std::string_view line);

// The same, from tokens already split (tokens must not be empty).
[[nodiscard]] expected<command> parse_command(const std::vector<token>& tokens);

}  // namespace librarian::console
