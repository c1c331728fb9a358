// `librarian`: the command-line client of a node's HTTP/JSON API (users, tokens, ping, members,
// status), with the reference librarian's command names and client config file.
//
// Exit codes (scripts may rely on them; docs/ quotes this table):
//    0  success
//    1  usage error: unknown command or option, missing argument (CLI11 prints why)
//    2  not_found          e.g. no such user, no such connection, no client config file
//    3  already_exists     e.g. create-user of an existing name
//    4  invalid_argument   bad input or config file (the message names the key and file)
//    5  unauthenticated    wrong user/password or token in the connection
//    6  forbidden          the connection's role does not allow the call
//    7  conflict           state changed underneath; re-read and retry
//    8  unavailable        cannot connect to host:port (node down, wrong port), or node busy
//    9  timeout            no answer within --timeout-seconds, or the node's handler timed out
//   10  checksum_mismatch
//   11  storage_full
//   12  internal           a bug or an unexpected reply; see the node's log (request id given)
// Codes 2..12 are librarian::exit_code(errc); a server error body {"error": NAME} picks the code.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "bin/librarian/api_calls.hpp"
#include "bin/librarian/client_config.hpp"
#include "bin/librarian/copy_command.hpp"
#include "bin/librarian/librarian_commands.hpp"
#include "bin/librarian/mcs_commands.hpp"
#include "bin/librarian/password_input.hpp"
#include "bin/librarian/rls_commands.hpp"
#include "net/http/auth.hpp"
#include "net/http/url.hpp"

namespace {

using librarian::errc;
using librarian::error;
using librarian::expected;
using librarian::cli::api_reply;
using librarian::cli::connection;
using nlohmann::json;

constexpr int exit_usage = 1;

struct global_options {
  bool json = false;
  double timeout_seconds = 30;
  std::optional<std::string> config_path;
};

// What the chosen subcommand does with its connection, and how it prints a success.
struct command {
  std::function<expected<api_reply>(const connection&, std::chrono::milliseconds)> run;
  std::function<std::string(const api_reply&)> human;
  std::function<int(const api_reply&)> exit_status = nullptr;  // nullptr: 0 (rls exists: 0 or 2)
};

// Arguments shared by the subcommands (each uses the ones it declares).
struct arguments {
  std::string connection_name;
  std::string user_name;
  std::string role_name;
  bool password_stdin = false;
  std::optional<int64_t> ttl_seconds;
};

std::string user_path(const std::string& name) {
  return "/api/v1/users/" + librarian::net::http::percent_encode(name);
}

int report(const error& err) {
  std::cerr << "error: " << err.message << "\n hint: " << librarian::hint(err.code) << '\n';
  return librarian::exit_code(err.code);
}

std::string role_check(const std::string& text) {
  if (librarian::net::http::role_from_name(text)) return {};
  return "role must be one of NONE, READONLY, CALLBACK, READAPPEND, READWRITE, ADMIN";
}

CLI::App* add_with_connection(CLI::App& app, arguments& args, const std::string& name,
                              const std::string& about) {
  auto* sub = app.add_subcommand(name, about);
  sub->add_option("CONN", args.connection_name, "connection name in the client config")->required();
  return sub;
}

void add_read_commands(CLI::App& app, arguments& args, std::optional<command>& chosen) {
  auto simple_get = [&](const std::string& name, const std::string& about, std::string target,
                        std::function<std::string(const json&)> human) {
    auto* sub = add_with_connection(app, args, name, about);
    sub->callback([&chosen, target, human] {
      chosen =
          command{[target](const connection& conn, std::chrono::milliseconds timeout) {
                    return librarian::cli::call_api(conn, "GET", target, std::nullopt, timeout);
                  },
                  [human](const api_reply& reply) { return human(reply.value); }};
    });
  };
  simple_get("ping", "check that the node answers and show who you are", "/api/v1/ping",
             librarian::cli::format_ping);
  simple_get("list-users", "list users and their roles (ADMIN)", "/api/v1/users",
             librarian::cli::format_users);
  simple_get("get-members", "list the cluster members this node knows", "/api/v1/members",
             librarian::cli::format_members);
  simple_get("status", "show the node's name, incarnation and uptime", "/api/v1/status",
             librarian::cli::format_status);
}

void add_create_user(CLI::App& app, arguments& args, std::optional<command>& chosen) {
  auto* sub = add_with_connection(app, args, "create-user", "create a user (ADMIN)");
  sub->add_option("NAME", args.user_name, "user name")->required();
  sub->add_option("--role", args.role_name,
                  "NONE, READONLY, CALLBACK, READAPPEND, READWRITE, ADMIN")
      ->required()
      ->check(role_check);
  sub->add_flag("--password-stdin", args.password_stdin, "read the password from stdin");
  sub->callback([&] {
    chosen = command{
        [&args](const connection& conn, std::chrono::milliseconds timeout) -> expected<api_reply> {
          auto password = librarian::cli::read_new_password(args.password_stdin,
                                                            "password for " + args.user_name);
          if (!password) return password.err();
          auto role = *librarian::net::http::role_from_name(args.role_name);
          json body{{"name", args.user_name},
                    {"password", *password},
                    {"role", std::string{librarian::net::http::name(role)}}};
          return librarian::cli::call_api(conn, "POST", "/api/v1/users", body, timeout);
        },
        [&args](const api_reply&) { return "created user " + args.user_name + "\n"; }};
  });
}

void add_user_admin(CLI::App& app, arguments& args, std::optional<command>& chosen) {
  auto* remove = add_with_connection(app, args, "delete-user", "delete a user (ADMIN)");
  remove->add_option("NAME", args.user_name, "user name")->required();
  remove->callback([&] {
    chosen = command{[&args](const connection& conn, std::chrono::milliseconds timeout) {
                       return librarian::cli::call_api(conn, "DELETE", user_path(args.user_name),
                                                       std::nullopt, timeout);
                     },
                     [&args](const api_reply&) { return "deleted user " + args.user_name + "\n"; }};
  });
  auto* change = add_with_connection(app, args, "change-user-password",
                                     "set a user's password (ADMIN, or the user itself)");
  change->add_option("NAME", args.user_name, "user name")->required();
  change->add_flag("--password-stdin", args.password_stdin, "read the password from stdin");
  change->callback([&] {
    chosen = command{
        [&args](const connection& conn, std::chrono::milliseconds timeout) -> expected<api_reply> {
          auto password = librarian::cli::read_new_password(args.password_stdin,
                                                            "new password for " + args.user_name);
          if (!password) return password.err();
          return librarian::cli::call_api(conn, "PUT", user_path(args.user_name) + "/password",
                                          json{{"password", *password}}, timeout);
        },
        [&args](const api_reply&) { return "changed the password of " + args.user_name + "\n"; }};
  });
}

void add_create_token(CLI::App& app, arguments& args, std::optional<command>& chosen) {
  auto* sub = add_with_connection(app, args, "create-token",
                                  "issue a bearer token for a user; prints the token");
  sub->add_option("NAME", args.user_name, "user name")->required();
  sub->add_option("--ttl-seconds", args.ttl_seconds, "token lifetime (server default if omitted)")
      ->check(CLI::Range(int64_t{1}, int64_t{10} * 365 * 86400));
  sub->callback([&] {
    chosen = command{
        [&args](const connection& conn, std::chrono::milliseconds timeout) {
          json body = json::object();
          if (args.ttl_seconds) body["ttl_seconds"] = *args.ttl_seconds;
          return librarian::cli::call_api(conn, "POST", user_path(args.user_name) + "/tokens", body,
                                          timeout);
        },
        [](const api_reply& reply) {
          const auto& value = reply.value;
          if (value.is_object() && value.contains("expires_unix_ms") &&
              value.at("expires_unix_ms").is_number_integer()) {
            std::cerr << "expires "
                      << librarian::cli::format_unix_ms(value.at("expires_unix_ms").get<int64_t>())
                      << '\n';
          }
          bool ok = value.is_object() && value.contains("token") && value.at("token").is_string();
          return ok ? value.at("token").get<std::string>() + "\n" : value.dump() + "\n";
        }};
  });
}

int run(const global_options& options, const arguments& args, const command& chosen) {
  auto config = librarian::cli::load_client_config(options.config_path);
  if (!config) return report(config.err());
  for (const auto& warning : config->warnings) std::cerr << "warning: " << warning << '\n';
  auto conn = librarian::cli::find_connection(*config, args.connection_name);
  if (!conn) return report(conn.err());
  auto timeout = std::chrono::milliseconds{static_cast<int64_t>(options.timeout_seconds * 1000)};
  auto reply = chosen.run(*conn, timeout);
  if (!reply) return report(reply.err());
  if (options.json) {
    std::cout << (reply->raw.empty() ? std::string{"{}"} : reply->raw) << '\n';
  } else {
    std::cout << chosen.human(*reply);
  }
  return chosen.exit_status ? chosen.exit_status(*reply) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"librarian: command-line client of a Librarian node's HTTP API"};
  // Global options may also follow the subcommand ("librarian ping local --json").
  app.fallthrough();
  app.require_subcommand(1);
  global_options options;
  app.add_flag("--json", options.json, "print the raw JSON reply (for scripts)");
  app.add_option("--timeout-seconds", options.timeout_seconds, "give up after this long (30)")
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--config", options.config_path,
                 "client config (default: $HL_CLIENT_CONFIG, then ~/.hl_client.cfg)");
  arguments args;
  std::optional<command> chosen;
  add_read_commands(app, args, chosen);
  add_create_user(app, args, chosen);
  add_user_admin(app, args, chosen);
  add_create_token(app, args, chosen);
  std::optional<librarian::cli::rls_command> rls_chosen;
  librarian::cli::add_rls_commands(app, args.connection_name, rls_chosen);
  std::optional<librarian::cli::mcs_command> mcs_chosen;
  librarian::cli::add_mcs_commands(app, args.connection_name, mcs_chosen);
  librarian::cli::add_librarian_commands(app, args.connection_name, rls_chosen);
  librarian::cli::copy_arguments copy_args;
  bool copy_chosen = false;
  librarian::cli::add_copy_command(app, copy_args, copy_chosen);
  // globus-url-copy spells its long options with one dash ("-cc 4"); accept them as it does.
  std::vector<std::string> words(argv + 1, argv + argc);
  words = librarian::cli::normalize_copy_options(std::move(words));
  std::reverse(words.begin(), words.end());
  try {
    app.parse(words);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  if (copy_chosen)
    return librarian::cli::run_copy(
        copy_args, options.json, options.config_path,
        std::chrono::milliseconds{static_cast<int64_t>(options.timeout_seconds * 1000)});
  if (rls_chosen) chosen = command{rls_chosen->run, rls_chosen->human, rls_chosen->exit_status};
  if (mcs_chosen) chosen = command{mcs_chosen->run, mcs_chosen->human, mcs_chosen->exit_status};
  if (!chosen) return exit_usage;
  return run(options, args, *chosen);
}
