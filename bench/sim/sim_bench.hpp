// Simulation speed: virtual seconds per wall second for a 5-node cluster under random faults.
#pragma once

#include <nlohmann/json.hpp>

namespace librarian::bench {

[[nodiscard]] nlohmann::json bench_sim(bool quick);
// A simulated 10-node cluster (five pairs) replicating `files` files (0: 1,000,000; quick 2,000)
// until every copy is recorded: virtual and wall time, memory.
[[nodiscard]] nlohmann::json bench_sim_replication(bool quick, uint64_t files);

}  // namespace librarian::bench
