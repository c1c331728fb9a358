// The script driver: output, expectations, the first failing line and its exit code.
#include <doctest/doctest.h>

#include <sstream>

#include "runtime/console/repl.hpp"

using namespace librarian;
using namespace librarian::console;
using namespace std::chrono_literals;

namespace {

// Answers asks from a fixed table and records what it ran; `ready_after` makes `members`
// report three nodes only once that much virtual time has been advanced.
struct fake_executor : executor {
  bool world = false;
  std::vector<std::string> ran;
  std::chrono::milliseconds now{0};
  std::chrono::milliseconds ready_after{0};

  expected<std::string> run(const command& cmd) override {
    ran.push_back(std::string{keyword(cmd.kind)} + (cmd.message.empty() ? "" : " " + cmd.message));
    switch (cmd.kind) {
      case command_kind::advance:
        now += cmd.duration;
        return std::string{};
      case command_kind::members:
        return std::string{now >= ready_after ? "a\nb\nc\n" : "a\n"};
      case command_kind::ask:
        if (cmd.message == "get") return std::string{"alice READWRITE"};
        return fail(errc::not_found, "no such user");
      case command_kind::crash:
        return fail(errc::unavailable, "node is already down");
      default:
        return std::string{};
    }
  }
  bool runs_world_commands() const override { return world; }
};

struct script_run {
  int exit = 0;
  std::string out;
  std::string err;
};

script_run run(std::string script, fake_executor& exec) {
  std::istringstream in{script};
  std::ostringstream out, err;
  script_run result;
  result.exit = run_script(in, "t.lsh", exec, out, err);
  result.out = out.str();
  result.err = err.str();
  return result;
}

}  // namespace

TEST_CASE("a script that holds runs to its end and prints replies") {
  fake_executor exec;
  auto result =
      run("# setup\n"
          "echo start\n"
          "\n"
          "ask users get alice => contains \"READ\"\n"
          "ask users find zed => error not_found\n"
          "set timeout 5s\r\n"
          "members => count 3\n",
          exec);
  CHECK(result.exit == exit_ok);
  CHECK(result.err.empty());
  CHECK(result.out == "start\nalice READWRITE\na\nb\nc\n");
  CHECK(exec.ran == std::vector<std::string>{"ask get", "ask find", "set", "members"});
}

TEST_CASE("a parse error stops the script at its line with exit 1") {
  fake_executor exec;
  auto result = run("echo one\necho \"two\nask users get alice\n", exec);
  CHECK(result.exit == exit_usage);
  CHECK(result.out == "one\n");
  CHECK(result.err == "t.lsh:2: error: column 6: unterminated string (missing closing \")\n");
  CHECK(exec.ran.empty());
}

TEST_CASE("a failed expectation stops the script with exit 20") {
  fake_executor exec;
  auto result = run("ask users get a => ok\nask users get a => equals \"bob\"\necho never\n", exec);
  CHECK(result.exit == exit_expectation_failed);
  CHECK(result.err == "t.lsh:2: error: expected equals \"bob\", got reply \"alice READWRITE\"\n");
  CHECK(result.out == "alice READWRITE\n");
}

TEST_CASE("an executor error exits with the code of its errc") {
  fake_executor exec;
  auto result = run("echo a\nask users drop zed\necho b\n", exec);
  CHECK(result.exit == exit_code(errc::not_found));
  CHECK(result.err == "t.lsh:2: error: not_found: no such user\n");
}

TEST_CASE("world commands are refused by the console and run by the simulator") {
  fake_executor console;
  auto refused = run("echo a\ncrash node-a\n", console);
  CHECK(refused.exit == exit_usage);
  CHECK(refused.err == "t.lsh:2: error: crash is only available in librarian-sim\n");
  CHECK(console.ran.empty());

  fake_executor sim;
  sim.world = true;
  auto ran = run("advance 1s\nexpect ask users get a => contains \"alice\"\ncrash node-a\n", sim);
  CHECK(ran.exit == exit_code(errc::unavailable));
  CHECK(ran.err == "t.lsh:3: error: unavailable: node is already down\n");
  CHECK(sim.ran == std::vector<std::string>{"advance", "ask get", "crash"});
}

TEST_CASE("eventually advances virtual time until the expectation holds") {
  fake_executor sim;
  sim.world = true;
  sim.ready_after = 350ms;
  auto result = run("eventually 10s members => count 3\n", sim);
  CHECK(result.exit == exit_ok);
  CHECK(result.out == "a\nb\nc\n");
  CHECK(sim.now == 400ms);  // four steps of 100ms
}

TEST_CASE("eventually gives up when virtual time runs out") {
  fake_executor sim;
  sim.world = true;
  sim.ready_after = 1h;
  auto result = run("eventually 1s members => count 3\n", sim);
  CHECK(result.exit == exit_expectation_failed);
  CHECK(result.err ==
        "t.lsh:1: error: still not true after 1s: expected count 3, got 1 items: "
        "\"a\\n\"\n");
  CHECK(sim.now == 1s);
}

TEST_CASE("quit ends a script early with success") {
  fake_executor exec;
  auto result = run("echo a\nquit\nask users drop zed\n", exec);
  CHECK(result.exit == exit_ok);
  CHECK(result.out == "a\n");
}

TEST_CASE("an overlong line is refused with its line number") {
  fake_executor exec;
  auto result = run("echo a\necho " + std::string(line_bytes_max, 'x') + "\necho b\n", exec);
  CHECK(result.exit == exit_usage);
  CHECK(result.err == "t.lsh:2: error: line is longer than 65536 bytes\n");
  CHECK(result.out == "a\n");
}

TEST_CASE("run_line reports without printing, for the interactive loop") {
  fake_executor exec;
  std::ostringstream out;
  auto bad = run_line("ask", 1, exec, out);
  CHECK(bad.exit == exit_usage);
  CHECK(bad.message.starts_with("missing TARGET or MESSAGE"));
  CHECK(run_line("exit", 2, exec, out).quit);
  CHECK(run_line("  # only a comment", 3, exec, out).exit == exit_ok);
  CHECK(out.str().empty());
}
