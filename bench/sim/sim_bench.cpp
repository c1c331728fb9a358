#include "bench/sim/sim_bench.hpp"

#include <algorithm>
#include <chrono>

#include "runtime/log.hpp"
#include "runtime/sim/world.hpp"

namespace librarian::bench {
namespace {

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

// One seeded world: crashes and partitions drawn over the window, then virtual time runs.
double run_world(uint64_t seed, int64_t virtual_s) {
  auto start = std::chrono::steady_clock::now();
  sim::world w{{seed, 5, true}};
  static_cast<void>(w.set_fault("random_crashes", std::to_string(virtual_s / 10)));
  static_cast<void>(w.set_fault("random_partitions", std::to_string(virtual_s / 10)));
  w.advance(std::chrono::seconds{virtual_s});
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return static_cast<double>(virtual_s) / took.count();
}

}  // namespace

nlohmann::json bench_sim(bool quick) {
  auto previous = log::current_level();
  log::set_level(log::level::off);
  const int64_t virtual_s = quick ? 30 : 300;
  std::vector<double> rates;
  for (uint64_t seed = 1; seed <= 5; ++seed) rates.push_back(run_world(seed, virtual_s));
  log::set_level(previous);
  return {{"nodes", 5},
          {"virtual_seconds_per_run", virtual_s},
          {"runs", rates.size()},
          {"simulated_seconds_per_wall_second_median", median(rates)},
          {"simulated_seconds_per_wall_second_min", *std::min_element(rates.begin(), rates.end())},
          {"target", 1000}};
}

}  // namespace librarian::bench
