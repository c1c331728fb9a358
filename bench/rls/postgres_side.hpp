// The PostgreSQL 15 side of the rls suite: the same mappings in a table with the LRC's two
// indexes (LFN -> PFN as the primary key, PFN -> LFN), loaded and queried the way a user would
// with libpq (1,000-row INSERTs, prepared single-LFN SELECTs, one connection per client).
#pragma once

#include <filesystem>

#include "bench/rls/workload.hpp"

namespace librarian::bench::rls {

// Starts a private cluster in dir, runs every phase, stops it. {"unavailable": why} when
// PostgreSQL 15 or libpq is missing.
[[nodiscard]] json bench_postgres(const std::filesystem::path& dir, const params& p);

}  // namespace librarian::bench::rls
