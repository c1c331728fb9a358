// RLI targets added and removed at run time (rls-admin `add` / `delete`), beside the ones in the
// node's config: validation of a new target, and the persisted list of run-time targets (in the
// LRC's meta table, so they survive a restart). No CAF, no I/O of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/config.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace librarian::rls {

// Run-time targets an LRC keeps at most (beside the config's), so the list stays bounded.
inline constexpr size_t admin_targets_max = 64;

// A target for RLI `name` (this node or one of its peers), mode "list" | "immediate" | "bloom",
// refreshed every interval_ms (100 ms .. 24 h), taking only LFNs that match one of `patterns`
// (empty: all). Every other setting is the config file's default. BADARG errors name the field.
[[nodiscard]] expected<rli_target_config> make_admin_target(
    const node_config& cfg, const std::string& name, const std::string& mode, int64_t interval_ms,
    const std::vector<std::string>& patterns);

// The run-time targets stored in the db (none if never written).
[[nodiscard]] expected<std::vector<rli_target_config>> load_admin_targets(const storage::db& db);
// Replaces the stored list with `targets` in `rows`.
void write_admin_targets(const storage::db& db, const std::vector<rli_target_config>& targets,
                         storage::batch& rows);

}  // namespace librarian::rls
