// The figures taken through real librarian-node processes on loopback: single-mapping adds and
// single-LFN queries through the HTTP API (keep-alive connections, Basic auth), the full LFN-list
// update from an LRC node to an RLI node, and the latency and memory of a large LRC.
#pragma once

#include <filesystem>
#include <string>

#include "bench/rls/workload.hpp"

namespace librarian::bench::rls {

struct node_dirs {
  std::string bin_dir;      // holds librarian-node
  std::filesystem::path a;  // the LRC node's data dir (its db already loaded)
  std::filesystem::path b;  // the RLI node's data dir
};

// Node a (LRC, updating b every p.update_interval_ms) and node b (RLI, debug log): the time from
// b receiving an update's first message to b having applied the whole list, from b's log, for
// p.update_repeats updates; then b's HTTP API must answer for the LRC's LFNs.
[[nodiscard]] json full_update_end_to_end(const node_dirs& dirs, uint64_t lfns, const params& p);

// Node a alone: single-LFN queries and single-mapping creates from p.clients keep-alive clients,
// single-client query latency, and the node's memory. lfns: how many mappings a holds.
[[nodiscard]] json http_figures(const node_dirs& dirs, uint64_t lfns, bool with_adds,
                                const params& p);

}  // namespace librarian::bench::rls
