// `librarian mcs CONN VERB ...`: the Metadata Catalog with the MCS command-line verbs (create,
// add_att, modify_att, delete_att, add_blk, modify_blk, delete_blk, query, list, list_coll,
// list_view, listattributes, add_coll, add_view, delete, annotate, provenance, grant, revoke,
// store-doc, get-doc, ...) as calls to the node's POST /api/v1/mcs/{verb}.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bin/librarian/rls_commands.hpp"

namespace librarian::cli {

// Same shape as an rls command: the call, the human rendering and the exit status.
using mcs_command = rls_command;

void add_mcs_commands(CLI::App& app, std::string& connection_name,
                      std::optional<mcs_command>& chosen);

// An attribute file: one "NAME TYPE VALUE" per line (VALUE is the rest of the line; blank lines
// and lines starting with '#' are skipped). with_values false: "NAME [TYPE [VALUE]]" (delete_blk).
[[nodiscard]] expected<nlohmann::json> parse_attr_file(const std::string& text, bool with_values);
// "ATTR OP VALUE" or "ATTR between LO HI" -> a query condition.
[[nodiscard]] expected<nlohmann::json> parse_condition(const std::string& text);

}  // namespace librarian::cli
