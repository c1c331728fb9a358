// The LRC and RLI state machines driven in-process (no CAF, no HTTP): loading a node's database
// before it starts, and the figures that have no HTTP endpoint yet (bulk add, bulk query) or that
// the issue allows at the state-machine level (list update, Bloom filters).
#pragma once

#include <memory>
#include <string>

#include "bench/rls/workload.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace librarian::bench::rls {

// The node's own database at data_dir/db, with every table the node opens.
[[nodiscard]] expected<std::unique_ptr<storage::db>> open_node_db(const std::string& data_dir);

// Mappings [from, to) through lrc_state::bulk_create, batch_items per request, each batch one
// synced write (as the node's group commit makes it durable before answering). Figures:
// mappings_per_s overall and per tenth of the load.
[[nodiscard]] json load_mappings(storage::db& db, uint64_t from, uint64_t to, const params& p);

// lrc_state::bulk_query_lfn of batch_items random LFNs of the first `mappings`, one caller.
[[nodiscard]] json bulk_queries(const storage::db& db, uint64_t mappings, const params& p);

// lrc_state::query_lfn of random LFNs of the first `mappings`, one at a time: the catalog's own
// latency, without HTTP or actors (p.latency_queries queries, bounded by 30 s).
[[nodiscard]] json query_latency(const storage::db& db, uint64_t mappings, const params& p);

// A full LFN-list update from the LRC's db into an rli_state: list_lfns pages of chunk_lfns,
// begin / add_chunk / end, until the new list answers; seconds per repetition.
[[nodiscard]] json list_update_direct(const storage::db& db, uint64_t mappings, size_t chunk_lfns,
                                      const params& p);

// The Bloom filter of the LRC's LFNs: built from the db (list_lfns pages) as an LRC would,
// serialized, then deserialized and installed in an rli_state as an RLI would.
[[nodiscard]] json bloom_from_db(const storage::db& db, uint64_t mappings, const params& p);

}  // namespace librarian::bench::rls
