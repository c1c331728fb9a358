// The RLI's list-mode soft state in RocksDB: the rows behind rli_state's journal, and the reload
// after a restart. Bloom filters are not stored (they are rebuilt from the next updates).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/rls/rli_state.hpp"
#include "storage/db.hpp"

namespace librarian::rls {

inline constexpr const char* rli_lists_table = "rli_lists";  // (lrc, lfn) -> ""
inline constexpr const char* rli_meta_table = "rli_meta";    // lrc -> rli_list_meta

// The column families the RLI needs; the node adds them to its open_options.
[[nodiscard]] std::vector<std::string> rli_tables();

// Appends the rows of ops (in order) to rows.
void persist_ops(const storage::db& db, const std::vector<rli_persist_op>& ops,
                 storage::batch& rows);

struct rli_load_report {
  size_t lrcs_loaded = 0;
  size_t lrcs_dropped = 0;  // stale or unreadable: their rows are deleted by `cleanup`
  size_t lfns_loaded = 0;
};

// Reloads every persisted list into rli (which must be empty). Stale lists are not loaded, and
// neither is a list whose rows do not decode (a record from disk is checked like one from the
// network): their rows go into cleanup for deletion. Errors only when the db cannot be read.
[[nodiscard]] expected<rli_load_report> load_lists(const storage::db& db, rli_state& rli,
                                                   uint64_t now_ms, storage::batch& cleanup);

}  // namespace librarian::rls
