// MCS benchmarks: bulk adds of files with 10 attributes, single-attribute equality queries from 16
// concurrent clients, and the p50 of a 3-condition conjunctive query, through the HTTP API of a
// real librarian-node, side by side with PostgreSQL 15 holding the same data and indexes.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// bin_dir holds librarian-node; work_dir gets the node's and PostgreSQL's data. files: 0 = the
// default (1,000,000; 20,000 with quick). Never throws; failures are "error" members.
[[nodiscard]] nlohmann::json bench_mcs(const std::string& work_dir, const std::string& bin_dir,
                                       bool quick, uint64_t files);

}  // namespace librarian::bench
