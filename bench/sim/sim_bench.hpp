// Simulation speed: virtual seconds per wall second for a 5-node cluster under random faults.
#pragma once

#include <nlohmann/json.hpp>

namespace librarian::bench {

[[nodiscard]] nlohmann::json bench_sim(bool quick);

}  // namespace librarian::bench
