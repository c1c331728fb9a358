// The driver of the console language: reads lines from a script or a terminal, parses them,
// hands commands to the tool's executor and checks expectations against the replies.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <string_view>

#include "runtime/console/language.hpp"
#include "runtime/expected.hpp"

namespace librarian::console {

// What turns commands into messages: librarian-console talks to a node over CAF's middleman,
// librarian-sim to the nodes of its simulated world.
struct executor {
  virtual ~executor() = default;
  // Runs one command and returns what to print. For ask and members that is the reply rendered
  // as text (a list: one item per line) or the actor's error; the driver, not the executor,
  // checks expectations. echo and quit never reach run(); expect and eventually reach it only
  // as their inner ask/members and as `advance` steps.
  [[nodiscard]] virtual expected<std::string> run(const command& cmd) = 0;
  // librarian-sim answers true; otherwise world commands are refused before reaching run().
  [[nodiscard]] virtual bool runs_world_commands() const { return false; }
};

// Exit codes of run_script (docs/console.md "Exit codes"). An executor error exits with
// exit_code(errc) of librarian/runtime/error.hpp, 2..12.
inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 1;  // parse error, overlong line, world command in the console
inline constexpr int exit_expectation_failed = 20;  // above every errc exit code

// `eventually` advances virtual time in steps of max(this, DURATION / eventually_polls_max).
inline constexpr std::chrono::milliseconds eventually_step_min{100};
inline constexpr int64_t eventually_polls_max = 1000;

// What one line did: exit_ok, or the exit code and the message of what went wrong.
struct line_outcome {
  int exit = exit_ok;
  std::string message;  // empty when exit == exit_ok
  bool quit = false;    // the line was quit/exit
};

// Parses and runs one line (blank and comment lines do nothing); output goes to `out`.
[[nodiscard]] line_outcome run_line(std::string_view line, size_t line_number, executor& exec,
                                    std::ostream& out);

// Runs a script to its end or to its first failing line, which is reported on `err` as
// "SOURCE:LINE: error: MESSAGE"; returns its exit code (exit_ok when every line ran).
[[nodiscard]] int run_script(std::istream& in, std::string_view source_name, executor& exec,
                             std::ostream& out, std::ostream& err);

// Prompts "librarian> " with libedit line editing and history kept in `history_path` (none
// when empty). Errors are printed to stderr and the loop goes on; quit, exit or EOF leave.
int run_interactive(executor& exec, std::string history_path);

}  // namespace librarian::console
