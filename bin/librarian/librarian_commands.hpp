// The reference librarian's subcommands (hera_librarian.md §1.2) on /api/v1: upload, download,
// search-files, search-errors, clear-error, get-store-list, set-store-state, validate-file,
// get-librarian-list [--ping], add-librarian, remove-librarian, set-librarian-transfer.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "bin/librarian/rls_commands.hpp"

namespace librarian::cli {

// Adds the subcommands to `app`; each fills `connection_name` and, when parsed, `chosen` (the
// rls_command shape: the call, the human rendering, the exit status). Both must outlive parsing
// and the run.
void add_librarian_commands(CLI::App& app, std::string& connection_name,
                            std::optional<rls_command>& chosen);

// "2026-11-22", "2026-11-22T07:00", "2026-11-22T07:00:00Z" (UTC), or unix milliseconds.
[[nodiscard]] expected<int64_t> parse_time_ms(const std::string& text);

[[nodiscard]] std::string format_files(const nlohmann::json& reply);
[[nodiscard]] std::string format_stores(const nlohmann::json& reply);
[[nodiscard]] std::string format_librarians(const nlohmann::json& reply);
[[nodiscard]] std::string format_errors(const nlohmann::json& reply);
[[nodiscard]] std::string format_validation(const nlohmann::json& reply);

}  // namespace librarian::cli
