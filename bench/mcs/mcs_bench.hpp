// MCS benchmarks: bulk adds of files with 10 attributes, single-attribute equality queries from 16
// concurrent clients, and the p50 of a 3-condition conjunctive query, through the HTTP API of a
// real librarian-node, side by side with PostgreSQL 15 holding the same data and indexes.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

struct mcs_bench_options {
  uint64_t files = 0;  // 0: the default (1,000,000; 20,000 with quick)
  // The node's mcs.object_cache_mb (negative: the node's default), for A/B runs.
  int64_t object_cache_mb = -1;
  bool skip_postgres = false;  // the catalog's figures alone
};

// bin_dir holds librarian-node; work_dir gets the node's and PostgreSQL's data. Never throws;
// failures are "error" members.
[[nodiscard]] nlohmann::json bench_mcs(const std::string& work_dir, const std::string& bin_dir,
                                       bool quick, mcs_bench_options options);

}  // namespace librarian::bench
