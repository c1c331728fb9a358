// In-process LRC/RLI figures (see lrc_direct.hpp).
#include "bench/rls/lrc_direct.hpp"

#include <filesystem>
#include <random>

#include "actors/node/node_env.hpp"
#include "actors/rls/bloom.hpp"
#include "actors/rls/lrc_state.hpp"
#include "actors/rls/rli_state.hpp"

namespace librarian::bench::rls {
namespace {

using librarian::rls::bloom_filter;
using librarian::rls::lrc_state;
using librarian::rls::mapping;
using librarian::rls::rli_state;

// The RLI's clock is ours: nothing expires within a benchmark.
constexpr uint64_t now_ms = 1'000'000;
constexpr uint64_t interval_ms = 3'600'000;
// Rows an LRC reads per page when it builds a filter or streams its list.
constexpr size_t list_page_lfns = 10'000;

}  // namespace

expected<std::unique_ptr<storage::db>> open_node_db(const std::string& data_dir) {
  std::filesystem::create_directories(data_dir);
  auto options = node::node_db_options((std::filesystem::path{data_dir} / "db").string());
  return storage::db::open(options);
}

json load_mappings(storage::db& db, uint64_t from, uint64_t to, const params& p) {
  if (to <= from) return json{{"mappings", 0}};
  lrc_state lrc{db};
  if (auto st = lrc.load(); !st) return json{{"error", "load: " + st.err().describe()}};
  std::vector<double> tenths;
  const uint64_t tenth = std::max<uint64_t>(1, (to - from) / 10);
  auto t0 = steady::now();
  auto t_tenth = t0;
  uint64_t done_in_tenth = 0;
  for (uint64_t i = from; i < to;) {
    std::vector<mapping> items;
    for (; i < to && items.size() < p.batch_items; ++i) items.push_back({lfn_of(i), pfn_of(i)});
    storage::batch rows;
    auto statuses = lrc.bulk_create(items, rows);
    if (!statuses) return json{{"error", "bulk_create: " + statuses.err().describe()}};
    for (const auto& st : *statuses)
      if (!st) return json{{"error", "bulk_create item: " + st.err().describe()}};
    if (auto st = db.write(rows, storage::durability::sync); !st)
      return json{{"error", "write: " + st.err().describe()}};
    lrc.committed(lrc.last_seq());
    if (seconds_since(t0) > p.load_s_max)
      return json{{"error", "the load stopped after " + std::to_string(p.load_s_max) + " s at " +
                                std::to_string(i - from) + " mappings"}};
    done_in_tenth += items.size();
    if (done_in_tenth >= tenth) {
      tenths.push_back(static_cast<double>(done_in_tenth) / seconds_since(t_tenth));
      t_tenth = steady::now();
      done_in_tenth = 0;
    }
  }
  double s = seconds_since(t0);
  return json{{"mappings", to - from},
              {"seconds", s},
              {"mappings_per_s", static_cast<double>(to - from) / s},
              {"per_tenth_mappings_per_s", runs_and_median(tenths)}};
}

json bulk_queries(const storage::db& db, uint64_t mappings, const params& p) {
  lrc_state lrc{db};
  if (auto st = lrc.load(); !st) return json{{"error", "load: " + st.err().describe()}};
  std::mt19937_64 rng{11};
  std::vector<double> runs;
  for (int r = 0; r < p.rounds; ++r) {
    uint64_t lfns = 0;
    auto t0 = steady::now();
    while (seconds_since(t0) < p.round_s && lfns < p.ops_per_round_max) {
      std::vector<std::string> batch;
      for (size_t k = 0; k < p.batch_items; ++k) batch.push_back(lfn_of(rng() % mappings));
      auto items = lrc.bulk_query_lfn(batch, 0);
      if (!items) return json{{"error", "bulk_query_lfn: " + items.err().describe()}};
      for (const auto& item : *items)
        if (item.code != errc::ok || item.pfns.size() != 1)
          return json{{"error", "bulk_query_lfn: " + item.lfn + " has no single PFN"}};
      lfns += batch.size();
    }
    runs.push_back(static_cast<double>(lfns) / seconds_since(t0));
  }
  return json{{"lfns_per_s", runs_and_median(runs)}, {"lfns_per_request", p.batch_items}};
}

json query_latency(const storage::db& db, uint64_t mappings, const params& p) {
  lrc_state lrc{db};
  if (auto st = lrc.load(); !st) return json{{"error", "load: " + st.err().describe()}};
  std::mt19937_64 rng{13};
  std::vector<double> ms;
  auto t0 = steady::now();
  while (ms.size() < static_cast<size_t>(p.latency_queries) && seconds_since(t0) < 30.0) {
    auto lfn = lfn_of(rng() % mappings);
    auto t_query = steady::now();
    auto page = lrc.query_lfn(lfn, 0, 0);
    ms.push_back(seconds_since(t_query) * 1000);
    if (!page || page->items.size() != 1) return json{{"error", "query_lfn: " + lfn}};
  }
  return json{
      {"queries", ms.size()}, {"p50_ms", percentile(ms, 0.50)}, {"p99_ms", percentile(ms, 0.99)}};
}

json list_update_direct(const storage::db& db, uint64_t mappings, size_t chunk_lfns,
                        const params& p) {
  lrc_state lrc{db};
  if (auto st = lrc.load(); !st) return json{{"error", "load: " + st.err().describe()}};
  rli_state rli;
  std::vector<double> runs;
  for (int r = 0; r < p.update_repeats; ++r) {
    auto generation = static_cast<uint64_t>(r + 1);
    auto t0 = steady::now();
    if (auto o = rli.begin_full_update("lrc", generation, now_ms, interval_ms); !o)
      return json{{"error", "begin: " + o.err().describe()}};
    std::string after;
    uint32_t chunks = 0;
    for (bool more = true; more; ++chunks) {
      auto page = lrc.list_lfns(after, chunk_lfns);
      if (!page) return json{{"error", "list_lfns: " + page.err().describe()}};
      more = page->more;
      if (!page->items.empty()) after = page->items.back();
      if (auto o = rli.add_chunk("lrc", generation, chunks, std::move(page->items), now_ms); !o)
        return json{{"error", "chunk: " + o.err().describe()}};
    }
    auto end = rli.end_full_update("lrc", generation, chunks, now_ms);
    if (!end || *end != librarian::rls::update_outcome::applied)
      return json{{"error", "the update did not apply"}};
    runs.push_back(seconds_since(t0));
    if (!rli.query_lfn(lfn_of(mappings - 1), now_ms))
      return json{{"error", "the RLI does not know the last LFN"}};
  }
  return json{{"seconds", runs_and_median(runs)}, {"chunk_lfns", chunk_lfns}, {"lfns", mappings}};
}

json bloom_from_db(const storage::db& db, uint64_t mappings, const params& p) {
  lrc_state lrc{db};
  if (auto st = lrc.load(); !st) return json{{"error", "load: " + st.err().describe()}};
  std::vector<double> build_runs, send_install_runs;
  size_t bytes = 0;
  for (int r = 0; r < p.bloom_repeats; ++r) {
    auto t0 = steady::now();
    auto filter = bloom_filter::sized_for(mappings);
    if (!filter) return json{{"error", filter.err().describe()}};
    std::string after;
    for (bool more = true; more;) {
      auto page = lrc.list_lfns(after, list_page_lfns);
      if (!page) return json{{"error", "list_lfns: " + page.err().describe()}};
      more = page->more;
      for (const auto& lfn : page->items) filter->insert(lfn);
      if (!page->items.empty()) after = page->items.back();
    }
    build_runs.push_back(seconds_since(t0));
    t0 = steady::now();
    auto wire = filter->serialize();
    rli_state rli;
    if (auto st = rli.set_bloom("lrc", 1, wire, now_ms, interval_ms); !st)
      return json{{"error", "set_bloom: " + st.err().describe()}};
    send_install_runs.push_back(seconds_since(t0));
    bytes = wire.size();
    if (!rli.query_lfn(lfn_of(0), now_ms)) return json{{"error", "a member is not found"}};
  }
  return json{{"lfns", mappings},
              {"build_s", runs_and_median(build_runs)},
              {"serialize_install_s", runs_and_median(send_install_runs)},
              {"filter_bytes", bytes}};
}

}  // namespace librarian::bench::rls
