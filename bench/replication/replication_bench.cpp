// The replication suite: for each repetition a fresh pair of nodes, the pool loaded into A with
// transfers to B paused, then the native baselines and the timed replication; medians over the
// repetitions, ratios paired within each repetition.
#include "bench/replication/replication_bench.hpp"

#include <unistd.h>

#include <filesystem>

#include "bench/replication/interruption.hpp"
#include "bench/replication/native_baseline.hpp"
#include "bench/replication/node_pair.hpp"
#include "bench/replication/replication_phase.hpp"
#include "bench/replication/source_files.hpp"
#include "bench/transfer/process.hpp"

namespace librarian::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;

constexpr uint64_t file_bytes = 1ull << 20;
constexpr unsigned load_clients = 4;
// The replicator keeps up to replication.max_batches_per_peer (default 16) batches to one peer
// on the mover at once; the second baseline gives the bare mover the same parallelism.
constexpr unsigned parallel_batches = 16;
constexpr double target_ratio_max = 2.0;
constexpr double target_overhead_ms_max = 1.0;

struct native_figures {
  double seconds = 0;
  double cpu_s = 0;  // B's node (receiving) and this process (the mover, sending)
};

struct run_figures {
  double load_s = 0;
  native_figures native_one;
  native_figures native_parallel;
  replication_timing rep;
  json observed;  // check_replicated's figures
};

// Removes its tree when it goes out of scope (after the nodes that wrote into it have stopped).
struct scratch_dir {
  fs::path path;
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

std::chrono::seconds limit_for(size_t files, double seconds_per_file) {
  return std::chrono::seconds(60 +
                              static_cast<int64_t>(static_cast<double>(files) * seconds_per_file));
}

// The copy is deleted and the deletion synced, so the next phase starts from the same disk state.
expected<native_figures> timed_native(node_pair& pair, const std::vector<source_file>& pool,
                                      const std::vector<std::string>& sources,
                                      const std::string& name, unsigned batches) {
  const auto dest = pair.b.root / name;
  const double cpu = pair.b.proc->cpu_seconds() + own_cpu_seconds();
  auto s = native_copy_seconds(pair.b, pool, sources, dest, batches, limit_for(pool.size(), 0.1));
  const double cpu_used = pair.b.proc->cpu_seconds() + own_cpu_seconds() - cpu;
  std::error_code ec;
  fs::remove_all(dest, ec);
  ::sync();
  if (!s) return s.err();
  return native_figures{*s, cpu_used};
}

expected<run_figures> run_once(const fs::path& dir, const std::string& bin_dir,
                               const std::vector<source_file>& pool,
                               const pair_settings& settings) {
  scratch_dir scratch{dir};
  auto pair = start_pair(dir, bin_dir, settings);
  if (!pair) return pair.err();
  node_pair& nodes = **pair;
  if (auto st = register_and_pause(nodes); !st) return st.err();
  run_figures f;
  const auto load_start = steady::now();
  auto sources = load_into(nodes.a, pool, load_clients);
  if (!sources) return sources.err();
  f.load_s = seconds_since(load_start);
  ::sync();
  auto one = timed_native(nodes, pool, *sources, "native-one-batch", 1);
  if (!one) return one.err();
  auto parallel = timed_native(nodes, pool, *sources, "native-parallel", parallel_batches);
  if (!parallel) return parallel.err();
  f.native_one = *one;
  f.native_parallel = *parallel;
  auto rep =
      replicate_all(nodes, pool.size(), {std::chrono::seconds(120), limit_for(pool.size(), 0.2)});
  if (!rep) return rep.err();
  auto checked = check_replicated(nodes, pool);
  if (!checked) return checked.err();
  f.rep = std::move(*rep);
  f.observed = std::move(*checked);
  return f;
}

template <class Get>
std::vector<double> each(const std::vector<run_figures>& runs, Get get) {
  std::vector<double> out;
  for (const auto& r : runs) out.push_back(get(r));
  return out;
}

json rate(const std::vector<double>& seconds, const std::vector<double>& cpu_s, size_t files) {
  const double s = median(seconds);
  return {{"seconds", s},
          {"files_per_s", static_cast<double>(files) / s},
          {"mb_per_s", static_cast<double>(files * file_bytes) / 1e6 / s},
          {"cpu_ms_per_file", median(cpu_s) * 1000.0 / static_cast<double>(files)},
          {"runs_s", seconds}};
}

json native_rate(const std::vector<run_figures>& runs, native_figures run_figures::*which,
                 size_t files) {
  return rate(each(runs, [which](auto& r) { return (r.*which).seconds; }),
              each(runs, [which](auto& r) { return (r.*which).cpu_s; }), files);
}

json replication_json(const std::vector<run_figures>& runs, size_t files) {
  auto rep = rate(each(runs, [](auto& r) { return r.rep.settled_s; }),
                  each(runs, [](auto& r) { return r.rep.cpu_a_s + r.rep.cpu_b_s; }), files);
  rep["seconds_until_first_file_at_b"] =
      median(each(runs, [](auto& r) { return r.rep.first_at_b_s; }));
  rep["seconds_until_all_at_b"] = median(each(runs, [](auto& r) { return r.rep.all_at_b_s; }));
  rep["cpu_s_a"] = median(each(runs, [](auto& r) { return r.rep.cpu_a_s; }));
  rep["cpu_s_b"] = median(each(runs, [](auto& r) { return r.rep.cpu_b_s; }));
  rep["rss_peak_mib_a"] = median(each(runs, [](auto& r) { return r.rep.rss_peak_a_kib / 1024.0; }));
  rep["rss_peak_mib_b"] = median(each(runs, [](auto& r) { return r.rep.rss_peak_b_kib / 1024.0; }));
  rep["b_staged_waiting_mean"] =
      median(each(runs, [](auto& r) { return r.rep.b_staged_waiting_mean; }));
  rep["b_staged_waiting_max"] =
      median(each(runs, [](auto& r) { return 1.0 * r.rep.b_staged_waiting_max; }));
  rep["first_seen_s_last_run"] = runs.back().rep.first_seen_s;
  rep["observed_runs"] = json::array();
  for (const auto& r : runs) rep["observed_runs"].push_back(r.observed);
  rep["counters_a_last_run"] = runs.back().rep.counters_a;
  rep["counters_b_last_run"] = runs.back().rep.counters_b;
  return rep;
}

// Paired within each repetition, then the median: the machine's drift cancels out.
json comparisons(const std::vector<run_figures>& runs, size_t files) {
  const auto n = static_cast<double>(files);
  const auto parallel = std::to_string(parallel_batches) + "_batches";
  return {
      {"ratio_vs_one_batch",
       median(each(runs, [](auto& r) { return r.rep.settled_s / r.native_one.seconds; }))},
      {"ratio_vs_" + parallel,
       median(each(runs, [](auto& r) { return r.rep.settled_s / r.native_parallel.seconds; }))},
      {"catalog_overhead_ms_per_file",
       median(each(
           runs, [n](auto& r) { return (r.rep.settled_s - r.native_one.seconds) / n * 1000.0; }))},
      // Against the bare mover with the replicator's parallelism: the catalog's own cost.
      {"catalog_overhead_ms_per_file_vs_" + parallel,
       median(each(
           runs,
           [n](auto& r) { return (r.rep.settled_s - r.native_parallel.seconds) / n * 1000.0; }))},
      {"target_ratio_max", target_ratio_max},
      {"target_overhead_ms_per_file_max", target_overhead_ms_max}};
}

json summarize(const std::vector<run_figures>& runs, size_t files) {
  json out{{"replication", replication_json(runs, files)},
           {"native_one_batch", native_rate(runs, &run_figures::native_one, files)},
           {"native_" + std::to_string(parallel_batches) + "_batches",
            native_rate(runs, &run_figures::native_parallel, files)},
           {"loading_files_per_s",
            static_cast<double>(files) / median(each(runs, [](auto& r) { return r.load_s; }))}};
  out.update(comparisons(runs, files));
  return out;
}

json settings_json(const pair_settings& s) {
  return {{"send_batch_size", s.send_batch_size},
          {"send_clone_every", s.send_clone_every},
          {"consume_queue_check_consumed_queue_recv_clone_every", s.queue_tasks_every},
          {"replication", "defaults (max_batches_per_peer 16, native_streams 4)"}};
}

}  // namespace

json bench_replication(const std::string& work_dir, const std::string& bin_dir, bool quick,
                       uint64_t files_wanted) {
  const interruption_guard interruption;  // outlives scratch: the removal is not cut short
  const fs::path dir = fs::path(work_dir) / "replication";
  scratch_dir scratch{dir};
  const size_t files = files_wanted > 0 ? files_wanted : quick ? 200 : 10000;
  const int runs = quick ? 1 : 3;
  const pair_settings settings;
  json out{{"files", files},
           {"file_bytes", file_bytes},
           {"runs", runs},
           {"settings", settings_json(settings)},
           // Issue 7's second figure needs a simulated mover, which does not exist yet.
           {"simulated_10_node_cluster_1m_files",
            {{"measured", false},
             {"reason", "needs a simulated mover (runtime/sim has none yet); not faked"}}}};
  auto pool = make_source_pool(dir / "pool", files, file_bytes);
  if (!pool) {
    out["error"] = "making the files: " + pool.err().describe();
    return out;
  }
  std::vector<run_figures> figures;
  try {
    for (int r = 0; r < runs; ++r) {
      auto f = run_once(dir / ("run-" + std::to_string(r)), bin_dir, *pool, settings);
      if (!f) {
        out["error"] = "run " + std::to_string(r) + ": " + f.err().describe();
        return out;
      }
      figures.push_back(std::move(*f));
    }
  } catch (const std::exception& e) {
    // A node answered something unexpected (a JSON field of another type): the run's nodes have
    // been stopped by now; report instead of terminating.
    out["error"] = std::string{"unexpected reply: "} + e.what();
    return out;
  }
  out.update(summarize(figures, files));
  return out;
}

}  // namespace librarian::bench
