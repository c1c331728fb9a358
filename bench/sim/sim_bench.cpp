#include "bench/sim/sim_bench.hpp"

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <map>

#include "bench/common/node_process.hpp"
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

namespace librarian::bench {
nlohmann::json bench_sim_replication(bool quick, uint64_t files) {
  using namespace std::chrono;
  auto previous = log::current_level();
  log::set_level(log::level::off);
  if (files == 0) files = quick ? 2000 : 1'000'000;
  constexpr size_t nodes = 10;
  constexpr uint64_t file_bytes = 64;
  sim::world_options o;
  o.seed = 1;
  o.nodes = nodes;
  o.random_faults = false;  // a clean run: the figure is the pipeline's throughput
  o.replication = "pairs";  // a -> b, c -> d, ...: every file gets one copy
  o.send_batch_size = 128;  // the reference's default
  o.rls_layout = "index";   // two RLIs fed in immediate mode, as a deployment would run them
  sim::world w{o};
  auto names = w.node_names();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < names.size(); i += 2) pairs.emplace_back(names[i], names[i + 1]);
  nlohmann::json out{{"nodes", nodes},
                     {"files", files},
                     {"file_bytes", file_bytes},
                     {"topology", "pairs a->b, c->d, e->f, g->h, i->j"},
                     {"send_batch_size", o.send_batch_size},
                     {"rls_layout", o.rls_layout}};
  auto wall_start = steady_clock::now();
  auto virtual_start = w.now_ms();
  std::map<std::string, size_t> acked;
  std::map<std::string, std::string> first_prefix;  // source -> its first slice's prefix
  // Ingest round-robin over the sources in slices, so replication runs while files arrive.
  const uint64_t slice = 1000;
  for (uint64_t done = 0; done < files;) {
    for (const auto& [src, dst] : pairs) {
      if (done >= files) break;
      auto n = std::min<uint64_t>(slice, files - done);
      auto prefix = "obs/" + src + "/" + std::to_string(done) + "/";
      first_prefix.emplace(src, prefix);
      auto got = w.ingest(src, prefix, n, file_bytes, 256, minutes{30});
      if (!got) {
        out["error"] = "ingest at " + src + ": " + got.err().describe();
        log::set_level(previous);
        return out;
      }
      acked[src] += *got;
      done += n;
    }
  }
  auto ingest_wall = duration<double>(steady_clock::now() - wall_start).count();
  auto ingest_virtual_ms = w.now_ms() - virtual_start;
  // Converged when every source records a copy of each of its files at its partner.
  const int64_t virtual_cap_ms = 6 * 3600 * 1000;
  bool converged = false;
  size_t recorded = 0;
  while (w.now_ms() - virtual_start < virtual_cap_ms) {
    recorded = 0;
    bool all = true;
    for (const auto& [src, dst] : pairs) {
      auto c = w.copies_recorded(src, dst);
      auto have = c ? *c : 0;
      recorded += have;
      all = all && have >= acked[src];
    }
    if (all) {
      converged = true;
      break;
    }
    w.advance(seconds{5});
  }
  auto wall = duration<double>(steady_clock::now() - wall_start).count();
  auto virtual_s = static_cast<double>(w.now_ms() - virtual_start) / 1000.0;
  // Spot check: sampled files are intact at their partner.
  size_t sampled = 0, intact = 0;
  for (const auto& [src, dst] : pairs) {
    if (acked[src] == 0) continue;
    for (uint64_t i = 0; i < 20 && i < acked[src]; ++i) {
      auto name = first_prefix[src] + std::to_string(i);
      ++sampled;
      auto state = w.world_message(dst, "has", {name}, seconds{5});
      if (state && *state == "intact") ++intact;
    }
  }
  out["converged"] = converged;
  out["copies_recorded"] = recorded;
  out["ingest_wall_seconds"] = ingest_wall;
  out["ingest_virtual_seconds"] = static_cast<double>(ingest_virtual_ms) / 1000.0;
  out["virtual_seconds_to_converge"] = virtual_s;
  out["wall_seconds_to_converge"] = wall;
  out["files_per_wall_second"] = static_cast<double>(files) / wall;
  out["files_per_virtual_second"] = static_cast<double>(files) / virtual_s;
  out["spot_check"] = {{"sampled", sampled}, {"intact_at_partner", intact}};
  out["max_rss_mib"] = static_cast<double>(status_kib(::getpid(), "VmHWM:")) / 1024.0;
  log::set_level(previous);
  return out;
}

}  // namespace librarian::bench
