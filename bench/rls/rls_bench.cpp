// The rls suite's order of phases, its ratios to PostgreSQL and the targets. PostgreSQL
// runs first and is stopped before our nodes start, so the two never compete for the 2 cores.
#include "bench/rls/rls_bench.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/rls/bloom_bench.hpp"
#include "bench/rls/lrc_direct.hpp"
#include "bench/rls/node_side.hpp"
#include "bench/rls/postgres_side.hpp"

namespace librarian::bench {
namespace {

using namespace librarian::bench::rls;
namespace fs = std::filesystem;

// The median of a figure at a JSON path ("a/b/median"), or null when a phase failed.
json at(const json& root, const std::string& path) {
  const json* node = &root;
  std::string rest = path;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    auto key = rest.substr(0, slash);
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    rest = slash == std::string::npos ? "" : rest.substr(slash + 1);
  }
  return *node;
}

json ratio(const json& ours, const json& theirs) {
  if (!ours.is_number() || !theirs.is_number() || theirs.get<double>() <= 0) return nullptr;
  return ours.get<double>() / theirs.get<double>();
}

// One row of the target table: the figure, the target, and whether it is met.
json target(const char* figure, const char* goal, const json& measured, bool met) {
  if (measured.is_null()) return json{{"figure", figure}, {"target", goal}, {"met", nullptr}};
  return json{{"figure", figure}, {"target", goal}, {"measured", measured}, {"met", met}};
}

double num(const json& j) {
  return j.is_number() ? j.get<double>() : 0.0;
}

json targets(const json& out) {
  auto bulk_add = at(out, "ours/http/bulk_adds/items_per_s/median");
  auto bulk_ratio = at(out, "ours_over_postgres/bulk_add");
  auto adds = at(out, "ours/http/single_adds/per_s/median");
  auto queries = at(out, "ours/http/single_queries/per_s/median");
  auto query_ratio = at(out, "ours_over_postgres/single_queries");
  auto bulk_q = at(out, "ours/http/bulk_queries/items_per_s/median");
  auto update = at(out, "ours/full_update_end_to_end/seconds/median");
  auto build = at(out, "ours/bloom_in_memory/build_s/median");
  auto install = at(out, "ours/bloom_in_memory/serialize_install_s/median");
  auto rli_q = at(out, "ours/rli_bloom_queries/queries_per_s/median");
  auto p99 = at(out, "ours/large_lrc/single_client_queries/p99_ms");
  auto rss = at(out, "ours/large_lrc/rss_peak_kib");
  json t = json::array();
  t.push_back(target("bulk add, 1,000 per request, one client (HTTP)",
                     ">= 1.5 x PostgreSQL and >= 300,000/s", json{bulk_add, bulk_ratio},
                     num(bulk_add) >= 300'000 && num(bulk_ratio) >= 1.5));
  t.push_back(target("single-mapping adds, 16 concurrent (HTTP)", ">= 20,000/s", adds,
                     num(adds) >= 20'000));
  t.push_back(target("single LFN queries, 16 concurrent (HTTP)",
                     ">= 1.5 x PostgreSQL and >= 30,000/s", json{queries, query_ratio},
                     num(queries) >= 30'000 && num(query_ratio) >= 1.5));
  t.push_back(target("bulk LFN queries, 1,000 per request, one client (HTTP)", ">= 300,000 LFNs/s",
                     bulk_q, num(bulk_q) >= 300'000));
  t.push_back(target("full LFN-list update LRC -> RLI, applied (two nodes)", "<= 5 s", update,
                     !update.is_null() && num(update) <= 5.0));
  t.push_back(target("Bloom filter: build (bloom.hpp, names in memory) / serialize + install",
                     "<= 0.2 s / <= 0.1 s", json{build, install},
                     !build.is_null() && num(build) <= 0.2 && num(install) <= 0.1));
  t.push_back(target("RLI queries against 100 Bloom filters (one thread)", ">= 100,000/s", rli_q,
                     num(rli_q) >= 100'000));
  t.push_back(target("large LRC: single-client query p99 / peak RSS (KiB)",
                     "<= 2 ms / <= 4 GiB (at 50M)", json{p99, rss},
                     !p99.is_null() && num(p99) <= 2.0 && num(rss) <= 4.0 * 1024 * 1024));
  return t;
}

// Our side, in the order that lets one database serve every phase: load, in-process figures,
// the two-node update, the HTTP figures at `mappings`, then grow it and measure the large LRC.
json bench_ours(const fs::path& dir, const std::string& bin_dir, const params& p) {
  node_dirs dirs{bin_dir, dir / "a", dir / "b"};
  json ours;
  {
    auto db = open_node_db(dirs.a.string());
    if (!db) return json{{"error", "open: " + db.err().describe()}};
    phase("bulk_add_state_machine");
    ours["bulk_add_state_machine"] = load_mappings(**db, 0, p.mappings, p);
    if (ours["bulk_add_state_machine"].contains("error")) return ours;
    phase("bulk_queries_state_machine");
    ours["bulk_queries_state_machine"] = bulk_queries(**db, p.mappings, p);
    phase("full_update_state_machine");
    ours["full_update_state_machine"] = list_update_direct(**db, p.mappings, 1000, p);
    phase("bloom_from_db");
    ours["bloom_from_db"] = bloom_from_db(**db, p.mappings, p);
  }
  phase("full_update_end_to_end");
  ours["full_update_end_to_end"] = full_update_end_to_end(dirs, p.mappings, p);
  phase("http");
  ours["http"] = http_figures(dirs, p.mappings, true, p);
  {
    auto db = open_node_db(dirs.a.string());
    if (!db) return json{{"error", "reopen: " + db.err().describe()}};
    phase("grow_to_large");
    ours["grow_to_large"] = load_mappings(**db, p.mappings, p.large_mappings, p);
    if (!ours["grow_to_large"].contains("error")) {
      phase("large_lrc_state_machine");
      ours["large_lrc_state_machine"] = query_latency(**db, p.large_mappings, p);
    }
  }
  if (!ours["grow_to_large"].contains("error")) {
    phase("large_lrc");
    ours["large_lrc"] = http_figures(dirs, p.large_mappings, false, p);
  }
  phase("bloom_in_memory");
  ours["bloom_in_memory"] = bloom_in_memory(p);
  phase("rli_bloom_queries");
  ours["rli_bloom_queries"] = rli_bloom_queries(p);
  phase("done");
  return ours;
}

// The 1-minute load average: the machine is shared, so each run says how busy it was.
double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

}  // namespace

json bench_rls(const std::string& work_dir, const std::string& bin_dir, bool quick,
               uint64_t mappings, uint64_t large_mappings) {
  auto p = params_for(quick, mappings, large_mappings);
  auto dir = fs::path{work_dir} / "rls";
  std::error_code ec;
  fs::create_directories(dir, ec);
  json out{{"mappings", p.mappings},       {"large_mappings", p.large_mappings},
           {"batch_items", p.batch_items}, {"clients", p.clients},
           {"rounds", p.rounds},           {"round_s", p.round_s}};
  out["load_average_start"] = load_average();
  phase("postgres");
  out["postgres"] = bench_postgres(dir, p);
  out["ours"] = bench_ours(dir, bin_dir, p);
  const auto& pg = out["postgres"];
  const auto& ours = out["ours"];
  out["ours_over_postgres"] = {
      {"bulk_add",
       ratio(at(ours, "http/bulk_adds/items_per_s/median"), at(pg, "bulk_add/mappings_per_s"))},
      {"bulk_add_state_machine",
       ratio(at(ours, "bulk_add_state_machine/mappings_per_s"), at(pg, "bulk_add/mappings_per_s"))},
      {"single_queries",
       ratio(at(ours, "http/single_queries/per_s/median"), at(pg, "single_queries_per_s/median"))},
      {"bulk_queries", ratio(at(ours, "http/bulk_queries/items_per_s/median"),
                             at(pg, "bulk_queries_lfns_per_s/median"))},
      {"bulk_queries_state_machine", ratio(at(ours, "bulk_queries_state_machine/lfns_per_s/median"),
                                           at(pg, "bulk_queries_lfns_per_s/median"))},
      {"single_adds",
       ratio(at(ours, "http/single_adds/per_s/median"), at(pg, "single_adds_per_s/median"))}};
  out["load_average_end"] = load_average();
  out["targets"] = targets(out);
  return out;
}

json bench_rls_bloom(bool quick) {
  auto p = params_for(quick, 0, 0);
  json out{{"rounds", p.rounds}, {"round_s", p.round_s}};
  out["load_average_start"] = load_average();
  json ours;
  phase("bloom_in_memory");
  ours["bloom_in_memory"] = bloom_in_memory(p);
  phase("rli_bloom_queries");
  ours["rli_bloom_queries"] = rli_bloom_queries(p);
  phase("done");
  out["ours"] = std::move(ours);
  out["load_average_end"] = load_average();
  return out;
}

json bench_rls_http(const std::string& work_dir, const std::string& bin_dir, bool quick,
                    uint64_t mappings) {
  auto p = params_for(quick, mappings, 0);
  auto dir = fs::path{work_dir} / "rls-http";
  std::error_code ec;
  fs::create_directories(dir, ec);
  node_dirs dirs{bin_dir, dir / "a", dir / "b"};
  json out{{"mappings", p.mappings},
           {"clients", p.clients},
           {"rounds", p.rounds},
           {"round_s", p.round_s}};
  out["load_average_start"] = load_average();
  json ours;
  {
    auto db = open_node_db(dirs.a.string());
    if (!db) return json{{"error", "open: " + db.err().describe()}};
    phase("bulk_add_state_machine");
    ours["bulk_add_state_machine"] = load_mappings(**db, 0, p.mappings, p);
    if (ours["bulk_add_state_machine"].contains("error")) {
      out["ours"] = std::move(ours);
      return out;
    }
  }
  phase("http");
  ours["http"] = http_figures(dirs, p.mappings, true, p);
  phase("done");
  out["ours"] = std::move(ours);
  out["load_average_end"] = load_average();
  return out;
}

}  // namespace librarian::bench
