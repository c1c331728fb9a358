// What every part of the rls suite shares: the sizes of one run, the deterministic names both
// systems get, and small timing helpers (bounded client loops, medians, percentiles).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace librarian::bench::rls {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

struct params {
  bool quick = false;
  uint64_t mappings = 1'000'000;           // loaded into the LRC and into PostgreSQL
  uint64_t large_mappings = 5'000'000;     // the "LRC with many mappings" figure (issue: 50M)
  size_t batch_items = 1000;               // mappings per bulk request, LFNs per bulk query
  int clients = 16;                        // concurrent requests for the single-item figures
  int rounds = 3;                          // each throughput figure is the median of this many
  double round_s = 4.0;                    // seconds per round
  uint64_t ops_per_round_max = 2'000'000;  // a client's round also ends after this many operations
  double load_s_max = 3 * 3600.0;          // a load that takes longer fails (50M: ~20 min)
  int latency_queries = 20'000;            // single-client queries for the large LRC's p99
  int update_repeats = 3;                  // full LFN-list updates timed (median)
  int64_t update_interval_ms = 20'000;     // the LRC's update interval during that phase
  uint64_t bloom_lfns = 1'000'000;         // the single filter's size
  int bloom_repeats = 5;
  int bloom_filters = 100;                 // filters the RLI holds for the query figure
  uint64_t bloom_filter_lfns = 1'000'000;  // LFNs per filter there
};

// One stderr line per phase with the wall-clock time, so a long run shows where it is and a
// profile can be cut by phase (stdout keeps only the JSON).
void phase(const char* name);

[[nodiscard]] params params_for(bool quick, uint64_t mappings, uint64_t large_mappings);

// Mapping i of the catalog: one PFN per LFN, names like a real experiment's, ~40 and ~60 bytes.
[[nodiscard]] std::string lfn_of(uint64_t i);
[[nodiscard]] std::string pfn_of(uint64_t i);

[[nodiscard]] inline double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

[[nodiscard]] inline double median(std::vector<double> xs) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

// The q-quantile (0..1) by nearest rank.
[[nodiscard]] inline double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(rank, xs.size() - 1)];
}

// {"runs": [...], "median": m} for a figure measured in several rounds.
[[nodiscard]] inline json runs_and_median(const std::vector<double>& runs) {
  return json{{"runs", runs}, {"median", median(runs)}};
}

// Runs fn(client, deadline) on n threads; fn returns its operation count. Returns the total
// operations per second over the round.
template <class Fn>
double run_clients(int n, double round_s, Fn fn) {
  std::atomic<uint64_t> ops{0};
  std::vector<std::thread> threads;
  auto t0 = steady::now();
  auto deadline =
      t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(round_s));
  for (int c = 0; c < n; ++c) threads.emplace_back([&, c] { ops += fn(c, deadline); });
  for (auto& t : threads) t.join();
  return static_cast<double>(ops.load()) / seconds_since(t0);
}

}  // namespace librarian::bench::rls
