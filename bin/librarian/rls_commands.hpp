// `librarian rls ...`: the Local Replica Catalog with globus-rls-cli's command words (create, add,
// delete, rename, query lrc lfn|pfn, query wildcard lrc lfn, exists lrc lfn, count), as calls to
// the node's /api/v1/rls/lrc endpoints; the RLI's `query CONN rli lfn LFN` and `lrcs CONN`
// on /api/v1/rls/rli; `bulk CONN create|add|delete|query ...` on the bulk endpoints; and
// `librarian rls-admin ...` (globus-rls-admin: ping, add/delete/list targets, config, stats,
// clear).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "bin/librarian/api_calls.hpp"

namespace librarian::cli {

// The chosen rls subcommand: the call, the human rendering of its reply, and the exit status of a
// successful reply (`exists` answers "no" with not_found's code, so scripts can test it).
struct rls_command {
  std::function<expected<api_reply>(const connection&, std::chrono::milliseconds)> run;
  std::function<std::string(const api_reply&)> human;
  std::function<int(const api_reply&)> exit_status;
};

// Adds the `rls` group to `app`. Each subcommand fills `connection_name` (its CONN argument) and,
// when parsed, `chosen`. Both must outlive app.parse() and the run of the command.
void add_rls_commands(CLI::App& app, std::string& connection_name,
                      std::optional<rls_command>& chosen);

// Human renderings (one name per line; "LFN PFN" per mapping; a last line for another page).
[[nodiscard]] std::string format_rls_names(const nlohmann::json& reply, const char* key);
[[nodiscard]] std::string format_rls_mappings(const nlohmann::json& reply);
// RLI renderings: "NAME" or "NAME maybe" per LRC holding an LFN; "NAME lfns=N mode=M[ stale]"
// per LRC known.
[[nodiscard]] std::string format_rli_lrcs(const nlohmann::json& reply);
[[nodiscard]] std::string format_rli_known(const nlohmann::json& reply);

}  // namespace librarian::cli
