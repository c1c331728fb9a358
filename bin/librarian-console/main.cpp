// librarian-console: injects typed messages into the actors of a running node over its cluster
// port and prints the replies. Interactive (with history), or a script from --script or stdin.
// The language is docs/console.md; librarian-sim runs the same one.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include "actors/node/console_messages.hpp"
#include "actors/node/interface.hpp"
#include "runtime/caf/catalog.hpp"
#include "runtime/caf/system_config.hpp"
#include "runtime/console/repl.hpp"
#include "runtime/console/tokenizer.hpp"

namespace {

using namespace librarian;
using namespace std::chrono_literals;

class remote_executor final : public console::executor {
 public:
  remote_executor(caf::actor_system& sys, caf::actor gateway, std::string node_name,
                  std::chrono::milliseconds timeout)
      : sys_(sys), gateway_(std::move(gateway)), node_(std::move(node_name)), timeout_(timeout) {}

  expected<std::string> run(const console::command& cmd) override {
    using kind = console::command_kind;
    switch (cmd.kind) {
      case kind::ask:
      case kind::send:
        return deliver(cmd);
      case kind::members:
        return members();
      case kind::help:
        return product_catalog().help(cmd.to.actor, cmd.message);
      case kind::sleep:
        std::this_thread::sleep_for(cmd.duration);
        return std::string{};
      case kind::set:
        return apply_setting(cmd);
      default:
        return fail(errc::invalid_argument, "this command is not available in the console");
    }
  }

 private:
  // Runs one asynchronous ask from a short-lived actor and waits for its reply; the ask's own
  // timeout bounds the wait.
  expected<std::string> wait_for(
      std::function<void(caf::event_based_actor*, reply_fn)> start) const {
    auto reply = std::make_shared<std::promise<expected<std::string>>>();
    auto result = reply->get_future();
    sys_.spawn([=](caf::event_based_actor* self) {
      start(self, [reply](expected<std::string> r) { reply->set_value(std::move(r)); });
    });
    return result.get();
  }

  expected<std::string> deliver(const console::command& cmd) {
    if (!cmd.to.node.empty() && cmd.to.node != node_)
      return fail(errc::invalid_argument,
                  "this console is connected to node '" + node_ + "', not '" + cmd.to.node + "'");
    auto prepared = prepare_message(product_catalog(), cmd.to.actor, cmd.message, cmd.args);
    if (!prepared) return prepared.err();
    auto timeout = caf::timespan{cmd.within.value_or(timeout_)};
    auto gateway = gateway_;
    if (cmd.kind == console::command_kind::send) {
      auto request = caf::make_message(atoms::inject_atom_v, cmd.to.actor, prepared->payload);
      auto sent = wait_for([=](caf::event_based_actor* self, reply_fn done) {
        empty_ask()(self, gateway, request, timeout, std::move(done));
      });
      if (!sent) return sent.err();
      return std::string{};
    }
    auto request = caf::make_message(atoms::ask_atom_v, cmd.to.actor, prepared->payload);
    const auto* entry = prepared->entry;
    return wait_for([=](caf::event_based_actor* self, reply_fn done) {
      entry->ask(self, gateway, request, timeout, std::move(done));
    });
  }

  // `members`: one line per member, "NAME STATE".
  expected<std::string> members() {
    auto gateway = gateway_;
    auto timeout = caf::timespan{timeout_};
    return wait_for([=](caf::event_based_actor* self, reply_fn done) {
      typed_ask<std::vector<node::member_info>>([](const std::vector<node::member_info>& xs) {
        return print_lines(xs, [](const node::member_info& m) { return m.name + " " + m.state; });
      })(self, gateway, caf::make_message(atoms::members_atom_v), timeout, std::move(done));
    });
  }

  expected<std::string> apply_setting(const console::command& cmd) {
    if (cmd.setting != "timeout")
      return fail(errc::invalid_argument, "unknown setting '" + cmd.setting + "'; known: timeout");
    auto duration = console::parse_duration(cmd.setting_value->text);
    if (!duration) return duration.err();
    timeout_ = *duration;
    return std::string{};
  }

  caf::actor_system& sys_;
  caf::actor gateway_;
  std::string node_;
  std::chrono::milliseconds timeout_;
};

struct options {
  std::string connect;
  std::string script;
  std::string timeout = "10s";
};

expected<std::pair<std::string, uint16_t>> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return fail(errc::invalid_argument, "--connect wants HOST:PORT, got \"" + text + "\"");
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  auto port = std::strtoul(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port == 0 || port > 65535)
    return fail(errc::invalid_argument,
                "--connect: the port must be 1..65535, got \"" + text.substr(colon + 1) + "\"");
  return std::pair{host, static_cast<uint16_t>(port)};
}

// Connects and learns the node's name (so NODE/ACTOR targets can be checked).
expected<std::pair<caf::actor, std::string>> connect(caf::actor_system& sys,
                                                     const std::string& host, uint16_t port,
                                                     std::chrono::milliseconds timeout) {
  auto gateway = sys.middleman().remote_actor(host, port);
  if (!gateway)
    return fail(errc::unavailable, "cannot connect to a node at " + host + ":" +
                                       std::to_string(port) + " (" + sys.render(gateway.error()) +
                                       "); is librarian-node running with that cluster_port?");
  caf::scoped_actor self{sys};
  expected<std::pair<caf::actor, std::string>> out = fail(errc::internal, "no reply");
  self->request(*gateway, timeout, atoms::status_atom_v)
      .receive(
          [&](const node::node_status& st) {
            out = std::pair{*gateway, st.name};
          },
          [&](const caf::error& err) { out = from_caf(err); });
  return out;
}

int run(const options& opts) {
  auto endpoint = parse_endpoint(opts.connect);
  if (!endpoint) {
    std::cerr << "librarian-console: " << endpoint.err().message << "\n";
    return console::exit_usage;
  }
  auto timeout = console::parse_duration(opts.timeout);
  if (!timeout) {
    std::cerr << "librarian-console: --timeout: " << timeout.err().message << "\n";
    return console::exit_usage;
  }
  system_options sys_opts;
  sys_opts.worker_threads = 2;
  system_config cfg{sys_opts};
  caf::actor_system sys{cfg};
  auto connected = connect(sys, endpoint->first, endpoint->second, *timeout);
  if (!connected) {
    std::cerr << "librarian-console: " << connected.err().describe() << "\n";
    return exit_code(connected.err().code);
  }
  remote_executor exec{sys, connected->first, connected->second, *timeout};
  int rc = 0;
  if (!opts.script.empty() && opts.script != "-") {
    std::ifstream in{opts.script};
    if (!in) {
      std::cerr << "librarian-console: cannot read " << opts.script << "\n";
      return console::exit_usage;
    }
    rc = console::run_script(in, opts.script, exec, std::cout, std::cerr);
  } else if (opts.script == "-" || !isatty(STDIN_FILENO)) {
    rc = console::run_script(std::cin, "<stdin>", exec, std::cout, std::cerr);
  } else {
    const char* home = std::getenv("HOME");
    rc = console::run_interactive(exec,
                                  home ? std::string{home} + "/.librarian_console_history" : "");
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  CLI::App app{"librarian-console: send typed messages to a node's actors (docs/console.md)"};
  app.add_option("--connect", opts.connect, "the node's cluster address, HOST:PORT")->required();
  app.add_option("--script", opts.script, "run this script file (- for stdin) instead of a prompt");
  app.add_option("--timeout", opts.timeout, "default reply timeout, e.g. 10s or 500ms");
  CLI11_PARSE(app, argc, argv);
  return run(opts);
}
