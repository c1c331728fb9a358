// globus-standin: a LOCAL STAND-IN for the Globus Auth + Transfer API v0.10 (see standin.hpp and
// docs/globus.md). It is not Globus: it copies files on this machine between directories named
// as endpoints, over plain HTTP on 127.0.0.1. Prints one JSON line when ready, runs until
// SIGINT/SIGTERM (or, with --exit-on-stdin-eof, until its stdin closes).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "net/globus/standin.hpp"

using namespace librarian;

namespace {

// "ID=ROOT" or "ID:SECRET" into the map; false (with a message) when malformed or repeated.
bool split_into(const std::vector<std::string>& values, char separator, std::string_view option,
                std::map<std::string, std::string>& out) {
  for (const auto& value : values) {
    size_t at = value.find(separator);
    if (at == std::string::npos || at == 0 || at + 1 == value.size()) {
      std::cerr << "globus-standin: " << option << " \"" << value << "\" must look like ID"
                << separator << "VALUE\n";
      return false;
    }
    if (!out.emplace(value.substr(0, at), value.substr(at + 1)).second) {
      std::cerr << "globus-standin: " << option << " names " << value.substr(0, at) << " twice\n";
      return false;
    }
  }
  return true;
}

// Waits for SIGINT/SIGTERM (blocked in every thread), polling stdin for EOF when asked to.
void wait_for_shutdown(const sigset_t& signals, bool exit_on_stdin_eof) {
  const timespec slice{0, 200'000'000};
  for (;;) {
    if (sigtimedwait(&signals, nullptr, &slice) > 0) return;
    if (!exit_on_stdin_eof) continue;
    pollfd in{STDIN_FILENO, POLLIN, 0};
    if (::poll(&in, 1, 0) > 0) {
      char sink[256];
      if (::read(STDIN_FILENO, sink, sizeof sink) <= 0) return;  // EOF: the parent went away
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "globus-standin: a LOCAL STAND-IN for the Globus Auth and Transfer API v0.10, for tests and "
      "demos of the librarian's globus mover. It is not Globus: endpoints are directories on "
      "this machine, tasks are copied here and kept in memory, and it serves plain HTTP on "
      "127.0.0.1 only. Point librarian.globus_auth_url at http://127.0.0.1:PORT and "
      "librarian.globus_transfer_url at http://127.0.0.1:PORT/v0.10."};
  globus::standin_options options;
  std::vector<std::string> endpoints, clients, refresh_tokens;
  int64_t token_ttl_s = 3600, revoke_after_s = 0;
  bool exit_on_stdin_eof = false;
  app.add_option("--port", options.port, "TCP port on 127.0.0.1; 0 picks a free one");
  app.add_option("--endpoint", endpoints,
                 "ID=ROOT: an endpoint whose absolute paths resolve under the directory ROOT "
                 "(ROOT=/ gives the same-absolute-path rule); repeatable")
      ->required();
  app.add_option("--client", clients, "ID:SECRET of a confidential app; repeatable");
  app.add_option("--refresh-token", refresh_tokens,
                 "ID:TOKEN of a native app's refresh token; repeatable");
  app.add_option("--token-ttl-s", token_ttl_s, "lifetime of access tokens (expires_in)")
      ->check(CLI::Range(int64_t{1}, int64_t{315'360'000}));
  app.add_option("--revoke-tokens-after-s", revoke_after_s,
                 "fault: tokens stop working this long after issue, before they expire")
      ->check(CLI::Range(int64_t{1}, int64_t{315'360'000}));
  app.add_option("--fail-next-task", options.fail_next_tasks,
                 "fault: the next task (one per use, in order) gets CODE: QUOTA_EXCEEDED fails "
                 "it, INACTIVE makes it INACTIVE, any other code (CONNECTION_RESET, "
                 "PERMISSION_DENIED, ...) leaves it ACTIVE with one fault");
  app.add_option("--slow-bytes-per-s", options.slow_bytes_per_s,
                 "fault: copy at most this many bytes per second per task");
  app.add_option("--active-tasks-max", options.active_tasks_max, "pending-task limit (Globus: 100)")
      ->check(CLI::Range(size_t{1}, size_t{10'000}));
  app.add_flag("--exit-on-stdin-eof", exit_on_stdin_eof,
               "exit when stdin closes (a test harness that dies takes the stand-in with it)");
  CLI11_PARSE(app, argc, argv);

  if (!split_into(endpoints, '=', "--endpoint", options.endpoints) ||
      !split_into(clients, ':', "--client", options.clients) ||
      !split_into(refresh_tokens, ':', "--refresh-token", options.refresh_tokens))
    return 2;
  options.token_ttl = std::chrono::seconds(token_ttl_s);
  if (revoke_after_s > 0) options.revoke_tokens_after = std::chrono::seconds(revoke_after_s);

  // Blocked before any thread starts, so every thread inherits the mask and sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto standin = globus::globus_standin::start(std::move(options));
  if (!standin) {
    std::cerr << "globus-standin: " << standin.err().describe() << "\n";
    return 1;
  }
  uint16_t port = (*standin)->port();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  nlohmann::json ready{{"ready", true},
                       {"port", port},
                       {"auth_url", base},
                       {"transfer_url", base + "/v0.10"},
                       {"note", "a local stand-in for the Globus API, not Globus"}};
  std::cout << ready.dump() << std::endl;
  wait_for_shutdown(signals, exit_on_stdin_eof);
  (*standin)->stop();
  std::cerr << "globus-standin: stopped; " << globus::to_json((*standin)->stats()).dump() << "\n";
  return 0;
}
