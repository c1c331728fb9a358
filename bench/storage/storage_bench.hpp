// Storage benchmarks: what our wrapper costs over raw RocksDB, and what group commit buys over
// one synced write per request. Results are JSON for librarian-bench.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// Runs every case 3 times in fresh DBs under work_dir and reports median ops/s (one op = one
// record plus its index row). quick: 20k records instead of 200k and shorter durable runs.
// Never throws; a failure is reported as an "error" member.
[[nodiscard]] nlohmann::json bench_storage(const std::string& work_dir, bool quick);

}  // namespace librarian::bench
