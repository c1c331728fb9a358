// Replica Location Service benchmarks (issue 4): the LRC and RLI through a real librarian-node's
// HTTP API on loopback and, where no endpoint exists yet, their state machines in-process, side by
// side with PostgreSQL 15 holding the same mappings with the same two indexes.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// bin_dir holds librarian-node; work_dir gets the nodes' and PostgreSQL's data. mappings and
// large_mappings: 0 = the defaults (1,000,000 and 5,000,000; quick: 20,000 and 100,000).
// Never throws; failures are "error" members.
[[nodiscard]] nlohmann::json bench_rls(const std::string& work_dir, const std::string& bin_dir,
                                       bool quick, uint64_t mappings, uint64_t large_mappings);

// Only the in-process Bloom-filter figures of the rls suite (no node, no PostgreSQL): one
// filter's build and install, and an RLI holding 100 filters of 1M LFNs (quick: 5 of 100,000).
[[nodiscard]] nlohmann::json bench_rls_bloom(bool quick);

// Only the rls suite's HTTP figures of one LRC node (no PostgreSQL, no RLI, no large LRC): the
// mappings loaded at the state machine, then single and bulk adds and queries through the API.
// For working on the request path, where the full suite takes many minutes per try.
[[nodiscard]] nlohmann::json bench_rls_http(const std::string& work_dir, const std::string& bin_dir,
                                            bool quick, uint64_t mappings);

}  // namespace librarian::bench
