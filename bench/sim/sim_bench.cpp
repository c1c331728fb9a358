#include "bench/sim/sim_bench.hpp"

#include <time.h>
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

// This process's CPU time: the simulator runs on one thread, so simulated seconds per CPU second
// is its speed on an idle core, whatever else the shared machine is doing.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct world_rate {
  double per_wall_second = 0;
  double per_cpu_second = 0;
};

// One seeded world: crashes and partitions drawn over the window, then virtual time runs.
world_rate run_world(uint64_t seed, int64_t virtual_s) {
  auto start = std::chrono::steady_clock::now();
  auto cpu_start = cpu_seconds();
  sim::world w{{seed, 5, true}};
  static_cast<void>(w.set_fault("random_crashes", std::to_string(virtual_s / 10)));
  static_cast<void>(w.set_fault("random_partitions", std::to_string(virtual_s / 10)));
  w.advance(std::chrono::seconds{virtual_s});
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  auto v = static_cast<double>(virtual_s);
  return {v / took.count(), v / std::max(cpu_seconds() - cpu_start, 1e-9)};
}

// A quiet cluster of `nodes`, each LRC holding `per_node` mappings, run until both RLIs (nodes a
// and b, the "index" layout) list every LRC with all of its LFNs.
nlohmann::json rls_convergence(size_t nodes, size_t per_node) {
  using namespace std::chrono;
  sim::world_options o;
  o.seed = 1;
  o.nodes = nodes;
  o.random_faults = false;
  o.replication = "none";
  o.rls_layout = "index";
  auto t0 = steady_clock::now();
  sim::world w{o};
  auto names = w.node_names();
  auto t_started = steady_clock::now();
  nlohmann::json out{{"nodes", nodes},
                     {"entries", nodes * per_node},
                     {"rls_layout", "index: 2 RLIs, every LRC in immediate mode, defaults"}};
  for (const auto& n : names)
    if (auto st = w.preload_lrc(n, "obs/" + n + "/", per_node); !st) {
      out["error"] = "preload " + n + ": " + st.err().describe();
      return out;
    }
  auto t_loaded = steady_clock::now();
  auto v0 = w.now_ms();
  bool converged = false;
  while (!converged && w.now_ms() - v0 < 600'000) {
    converged = true;
    for (size_t r = 0; r < 2 && converged; ++r) {
      auto counts = w.rli_lfn_counts(names[r], seconds{30});
      if (!counts) {
        converged = false;
        break;
      }
      for (const auto& n : names)
        if ((*counts)[n] < per_node) {
          converged = false;
          break;
        }
    }
    if (!converged) w.advance(seconds{1});
  }
  auto t_done = steady_clock::now();
  auto secs = [](auto d) { return duration<double>(d).count(); };
  out["converged"] = converged;
  out["start_wall_seconds"] = secs(t_started - t0);
  out["load_wall_seconds"] = secs(t_loaded - t_started);
  out["converge_virtual_seconds"] = static_cast<double>(w.now_ms() - v0) / 1000.0;
  out["converge_wall_seconds"] = secs(t_done - t_loaded);
  out["wall_seconds_total"] = secs(t_done - t0);
  out["max_rss_mib"] = static_cast<double>(status_kib(::getpid(), "VmHWM:")) / 1024.0;
  out["target_wall_seconds"] = 60;
  return out;
}

}  // namespace

nlohmann::json bench_sim(bool quick) {
  auto previous = log::current_level();
  log::set_level(log::level::off);
  const int64_t virtual_s = quick ? 30 : 300;
  std::vector<double> rates, cpu_rates;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto r = run_world(seed, virtual_s);
    rates.push_back(r.per_wall_second);
    cpu_rates.push_back(r.per_cpu_second);
  }
  auto convergence = quick ? rls_convergence(20, 1000) : rls_convergence(100, 10000);
  log::set_level(previous);
  return {{"rls_convergence", convergence},
          {"nodes", 5},
          {"virtual_seconds_per_run", virtual_s},
          {"runs", rates.size()},
          {"simulated_seconds_per_wall_second_median", median(rates)},
          {"simulated_seconds_per_wall_second_min", *std::min_element(rates.begin(), rates.end())},
          {"simulated_seconds_per_cpu_second_median", median(cpu_rates)},
          {"simulated_seconds_per_cpu_second_min",
           *std::min_element(cpu_rates.begin(), cpu_rates.end())},
          {"simulated_seconds_per_cpu_second_by_seed", cpu_rates},
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
