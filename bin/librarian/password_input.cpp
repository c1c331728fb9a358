// Terminal handling for password prompts (termios echo off, always restored).
#include "bin/librarian/password_input.hpp"

#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace librarian::cli {
namespace {

// Restores the terminal even if reading fails half-way.
class echo_off {
 public:
  echo_off() {
    active_ = ::tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (!active_) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~echo_off() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  echo_off(const echo_off&) = delete;
  echo_off& operator=(const echo_off&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

expected<std::string> read_line(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) return fail(errc::invalid_argument, "no password given on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > password_bytes_max)
    return fail(errc::invalid_argument, "password longer than 4096 bytes");
  if (line.empty()) return fail(errc::invalid_argument, "the password is empty");
  return line;
}

expected<std::string> prompt_once(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  expected<std::string> line = error{};
  {
    echo_off guard;
    line = read_line(std::cin);
  }
  std::cerr << '\n';
  return line;
}

}  // namespace

expected<std::string> read_new_password(bool from_stdin, const std::string& prompt) {
  if (from_stdin) return read_line(std::cin);
  if (::isatty(STDIN_FILENO) == 0) {
    return fail(errc::invalid_argument,
                "stdin is not a terminal; pass --password-stdin to read the password from it");
  }
  auto first = prompt_once(prompt + ": ");
  if (!first) return first;
  auto second = prompt_once("again: ");
  if (!second) return second;
  if (*first != *second) return fail(errc::invalid_argument, "the two passwords differ");
  return first;
}

}  // namespace librarian::cli
