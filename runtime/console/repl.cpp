// Script and interactive drivers of the console language.
#include "runtime/console/repl.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <istream>
#include <memory>
#include <ostream>

// libedit (BSD licence) rather than GNU readline, whose GPL would bind the whole product.
#include <editline/readline.h>

namespace librarian::console {
namespace {

// History beyond this many lines is dropped; a console session is not an archive.
constexpr int history_lines_max = 1000;

void print(std::ostream& out, std::string_view text) {
  if (text.empty()) return;
  out << text;
  if (!text.ends_with('\n')) out << '\n';
}

line_outcome failed(int exit, std::string message) {
  return {exit, std::move(message), false};
}

line_outcome executor_failed(const error& err) {
  return failed(exit_code(err.code), err.describe());
}

reply to_reply(const expected<std::string>& result) {
  if (result) return reply{true, *result};
  return reply{false, {}, result.err().code, result.err().message};
}

// Runs an ask or members and checks its expectation.
line_outcome run_checked(const command& cmd, executor& exec, std::ostream& out) {
  auto result = exec.run(cmd);
  if (auto ok = check(*cmd.expect, to_reply(result)); !ok)
    return failed(exit_expectation_failed, ok.err().message);
  if (result) print(out, *result);
  return {};
}

// Retries the inner ask/members, advancing virtual time between tries, until its expectation
// holds or DURATION of virtual time has passed; the polls are bounded by eventually_polls_max.
line_outcome run_eventually(const command& cmd, executor& exec, std::ostream& out) {
  const command& inner = *cmd.inner;
  auto step = std::max(eventually_step_min, cmd.duration / eventually_polls_max);
  std::chrono::milliseconds waited{0};
  while (true) {
    auto result = exec.run(inner);
    auto ok = check(*inner.expect, to_reply(result));
    if (ok) {
      if (result) print(out, *result);
      return {};
    }
    if (waited >= cmd.duration)
      return failed(
          exit_expectation_failed,
          "still not true after " + format_duration(cmd.duration) + ": " + ok.err().message);
    command advance;
    advance.kind = command_kind::advance;
    advance.line = cmd.line;
    advance.duration = std::min(step, cmd.duration - waited);
    if (auto moved = exec.run(advance); !moved) return executor_failed(moved.err());
    waited += advance.duration;
  }
}

line_outcome run_command(const command& cmd, executor& exec, std::ostream& out) {
  if (is_simulator_only(cmd.kind) && !exec.runs_world_commands())
    return failed(exit_usage,
                  std::string{keyword(cmd.kind)} + " is only available in librarian-sim");
  switch (cmd.kind) {
    case command_kind::quit:
      return {exit_ok, {}, true};
    case command_kind::echo:
      out << cmd.text << '\n';
      return {};
    case command_kind::expect:
      return run_checked(*cmd.inner, exec, out);
    case command_kind::eventually:
      return run_eventually(cmd, exec, out);
    default:
      break;
  }
  if (cmd.expect) return run_checked(cmd, exec, out);
  auto result = exec.run(cmd);
  if (!result) return executor_failed(result.err());
  print(out, *result);
  return {};
}

// Reads one line of at most line_bytes_max bytes; a longer line is consumed and reported, so
// a runaway file never makes us hold it all in memory.
enum class read_result { line, too_long, end };

read_result read_bounded_line(std::istream& in, std::string& line) {
  line.clear();
  auto* buffer = in.rdbuf();
  if (buffer == nullptr) return read_result::end;
  bool any = false;
  bool too_long = false;
  for (auto c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
    any = true;
    if (c == '\n') return too_long ? read_result::too_long : read_result::line;
    if (line.size() < line_bytes_max)
      line += static_cast<char>(c);
    else
      too_long = true;
  }
  if (!any) return read_result::end;
  return too_long ? read_result::too_long : read_result::line;
}

}  // namespace

line_outcome run_line(std::string_view line, size_t line_number, executor& exec,
                      std::ostream& out) {
  if (line.ends_with('\r')) line.remove_suffix(1);  // scripts written on Windows
  auto parsed = parse_line(line);
  if (!parsed) return failed(exit_usage, parsed.err().message);
  if (!parsed->has_value()) return {};
  command& cmd = **parsed;
  cmd.line = line_number;
  return run_command(cmd, exec, out);
}

int run_script(std::istream& in, std::string_view source_name, executor& exec, std::ostream& out,
               std::ostream& err) {
  std::string line;
  for (size_t number = 1;; ++number) {
    auto got = read_bounded_line(in, line);
    if (got == read_result::end) return exit_ok;
    line_outcome outcome;
    if (got == read_result::too_long)
      outcome =
          failed(exit_usage, "line is longer than " + std::to_string(line_bytes_max) + " bytes");
    else
      outcome = run_line(line, number, exec, out);
    if (outcome.quit) return exit_ok;
    if (outcome.exit != exit_ok) {
      out.flush();
      err << source_name << ":" << number << ": error: " << outcome.message << '\n';
      return outcome.exit;
    }
  }
}

int run_interactive(executor& exec, std::string history_path) {
  using_history();
  stifle_history(history_lines_max);
  // A missing history file is normal on the first run.
  if (!history_path.empty()) (void)read_history(history_path.c_str());
  for (size_t number = 1;; ++number) {
    std::unique_ptr<char, decltype(&std::free)> raw{readline("librarian> "), &std::free};
    if (!raw) break;  // EOF (Ctrl-D)
    std::string_view line{raw.get()};
    if (line.find_first_not_of(" \t") != std::string_view::npos) {
      add_history(raw.get());
      if (!history_path.empty()) (void)write_history(history_path.c_str());
    }
    auto outcome = run_line(line, number, exec, std::cout);
    std::cout.flush();
    if (outcome.quit) break;
    if (outcome.exit != exit_ok) std::cerr << "error: " << outcome.message << '\n';
  }
  return exit_ok;
}

}  // namespace librarian::console
