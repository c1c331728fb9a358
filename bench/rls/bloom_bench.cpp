// Bloom filter figures (see bloom_bench.hpp).
#include "bench/rls/bloom_bench.hpp"

#include <random>

#include "actors/rls/bloom.hpp"
#include "actors/rls/rli_state.hpp"

namespace librarian::bench::rls {
namespace {

using librarian::rls::bloom_filter;
using librarian::rls::rli_state;

constexpr uint64_t now_ms = 1'000'000;
constexpr uint64_t interval_ms = 3'600'000;
// Query names are made before timing and cycled through.
constexpr size_t query_names = 200'000;

}  // namespace

json bloom_in_memory(const params& p) {
  std::vector<std::string> names;
  names.reserve(p.bloom_lfns);
  for (uint64_t i = 0; i < p.bloom_lfns; ++i) names.push_back(lfn_of(i));
  std::vector<double> build_runs, install_runs;
  size_t bytes = 0;
  for (int r = 0; r < p.bloom_repeats; ++r) {
    auto t0 = steady::now();
    auto filter = bloom_filter::sized_for(p.bloom_lfns);
    if (!filter) return json{{"error", filter.err().describe()}};
    for (const auto& n : names) filter->insert(n);
    build_runs.push_back(seconds_since(t0));
    t0 = steady::now();
    auto wire = filter->serialize();
    rli_state rli;
    if (auto st = rli.set_bloom("lrc", 1, wire, now_ms, interval_ms); !st)
      return json{{"error", "set_bloom: " + st.err().describe()}};
    install_runs.push_back(seconds_since(t0));
    bytes = wire.size();
  }
  return json{{"lfns", p.bloom_lfns},
              {"build_s", runs_and_median(build_runs)},
              {"serialize_install_s", runs_and_median(install_runs)},
              {"filter_bytes", bytes}};
}

json rli_bloom_queries(const params& p) {
  rli_state rli;
  auto t0 = steady::now();
  size_t memory = 0;
  for (int f = 0; f < p.bloom_filters; ++f) {
    auto filter = bloom_filter::sized_for(p.bloom_filter_lfns);
    if (!filter) return json{{"error", filter.err().describe()}};
    uint64_t first = static_cast<uint64_t>(f) * p.bloom_filter_lfns;
    for (uint64_t i = first; i < first + p.bloom_filter_lfns; ++i) filter->insert(lfn_of(i));
    memory += filter->memory_bytes();
    if (auto st =
            rli.set_bloom("lrc-" + std::to_string(f), 1, filter->serialize(), now_ms, interval_ms);
        !st)
      return json{{"error", "set_bloom: " + st.err().describe()}};
  }
  double setup_s = seconds_since(t0);
  const uint64_t held = static_cast<uint64_t>(p.bloom_filters) * p.bloom_filter_lfns;
  std::mt19937_64 rng{5};
  std::vector<std::string> queries;
  for (size_t q = 0; q < query_names; ++q)  // even: held by one filter; odd: held by none
    queries.push_back(lfn_of(q % 2 == 0 ? rng() % held : held + rng() % held));
  std::vector<double> runs;
  uint64_t unknown_hits = 0, unknown_queries = 0;
  for (int r = 0; r < p.rounds; ++r) {
    uint64_t n = 0;
    auto t_round = steady::now();
    while (seconds_since(t_round) < p.round_s && n < p.ops_per_round_max) {
      for (size_t q = 0; q < 1000; ++q, ++n) {
        auto hits = rli.query_lfn(queries[n % query_names], now_ms);
        if ((n % query_names) % 2 == 0 && !hits) return json{{"error", "a held LFN was not found"}};
        if ((n % query_names) % 2 == 1) {
          ++unknown_queries;
          if (hits) unknown_hits += hits->size();
        }
      }
    }
    runs.push_back(static_cast<double>(n) / seconds_since(t_round));
  }
  return json{
      {"filters", p.bloom_filters},
      {"lfns_per_filter", p.bloom_filter_lfns},
      {"filters_memory_bytes", memory},
      {"setup_s", setup_s},
      {"queries_per_s", runs_and_median(runs)},
      // Per filter consulted: the false-positive rate the RLI's answers carry.
      {"false_positive_rate", unknown_queries == 0 ? 0.0
                                                   : static_cast<double>(unknown_hits) /
                                                         static_cast<double>(unknown_queries) /
                                                         static_cast<double>(p.bloom_filters)},
      {"threads", 1}};
}

}  // namespace librarian::bench::rls
