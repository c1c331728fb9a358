// PostgreSQL 15 figures (see postgres_side.hpp).
#include "bench/rls/postgres_side.hpp"

#include <mutex>
#include <random>

#include "bench/common/pg_cluster.hpp"

namespace librarian::bench::rls {

#ifdef LIBRARIAN_BENCH_HAVE_LIBPQ

namespace {

// The LRC keeps (lfn, pfn) and (pfn, lfn) keys; these are the same two indexes.
constexpr const char* schema = R"(
CREATE TABLE lrc_map (lfn text NOT NULL, pfn text NOT NULL, PRIMARY KEY (lfn, pfn));
CREATE INDEX lrc_map_pfn ON lrc_map (pfn, lfn);
)";

// Our names hold no quote or backslash, so they are literals as they are.
std::string insert_sql(uint64_t from, uint64_t to) {
  std::string sql = "INSERT INTO lrc_map (lfn, pfn) VALUES ";
  for (uint64_t i = from; i < to; ++i)
    sql += (i == from ? "('" : ",('") + lfn_of(i) + "','" + pfn_of(i) + "')";
  return sql;
}

json load(uint16_t port, const params& p) {
  pg_conn c{port};
  if (!c.ok()) return json{{"error", std::string{"cannot connect: "} + PQerrorMessage(c.c)}};
  std::vector<double> tenths;
  const uint64_t tenth = std::max<uint64_t>(1, p.mappings / 10);
  auto t0 = steady::now();
  auto t_tenth = t0;
  uint64_t done_in_tenth = 0;
  for (uint64_t i = 0; i < p.mappings; i += p.batch_items) {
    auto to = std::min<uint64_t>(p.mappings, i + p.batch_items);
    if (auto [err, rows] = c.exec(insert_sql(i, to)); !err.empty())
      return json{{"error", "insert: " + err}};
    done_in_tenth += to - i;
    if (done_in_tenth >= tenth) {
      tenths.push_back(static_cast<double>(done_in_tenth) / seconds_since(t_tenth));
      t_tenth = steady::now();
      done_in_tenth = 0;
    }
  }
  double s = seconds_since(t0);
  return json{{"mappings", p.mappings},
              {"seconds", s},
              {"mappings_per_s", static_cast<double>(p.mappings) / s},
              {"per_tenth_mappings_per_s", runs_and_median(tenths)}};
}

// One round per p.rounds of fn(connection, client, deadline) on p.clients connections, each with
// the statement prepared. Returns the per-round rates, or the first error.
template <class Fn>
json rounds_of(uint16_t port, const params& p, int clients, const char* sql, int nparams, Fn fn) {
  std::vector<double> runs;
  std::mutex lock;
  std::string first_error;
  for (int r = 0; r < p.rounds; ++r) {
    runs.push_back(run_clients(clients, p.round_s, [&](int client, steady::time_point deadline) {
      pg_conn c{port};
      std::string err = c.ok() ? c.prepare("s", sql, nparams) : PQerrorMessage(c.c);
      uint64_t n = 0;
      if (err.empty()) n = fn(c, client + 100 * r, deadline, err);
      if (!err.empty()) {
        std::lock_guard g{lock};
        if (first_error.empty()) first_error = err;
      }
      return n;
    }));
    if (!first_error.empty()) return json{{"error", first_error}};
  }
  return runs_and_median(runs);
}

json single_queries(uint16_t port, const params& p) {
  return rounds_of(port, p, p.clients, "SELECT pfn FROM lrc_map WHERE lfn = $1", 1,
                   [&](pg_conn& c, int client, steady::time_point deadline, std::string& err) {
                     std::mt19937_64 rng{static_cast<uint64_t>(client) + 7};
                     uint64_t n = 0;
                     while (steady::now() < deadline && n < p.ops_per_round_max) {
                       auto lfn = lfn_of(rng() % p.mappings);
                       auto [e, rows] = c.exec_prepared("s", {lfn.c_str()});
                       if (!e.empty() || rows != 1) {
                         err = e.empty() ? "no row for " + lfn : e;
                         break;
                       }
                       ++n;
                     }
                     return n;
                   });
}

json bulk_queries(uint16_t port, const params& p) {
  return rounds_of(port, p, 1, "SELECT lfn, pfn FROM lrc_map WHERE lfn = ANY($1::text[])", 1,
                   [&](pg_conn& c, int client, steady::time_point deadline, std::string& err) {
                     std::mt19937_64 rng{static_cast<uint64_t>(client) + 11};
                     uint64_t n = 0;
                     while (steady::now() < deadline && n < p.ops_per_round_max) {
                       std::string array = "{";
                       for (size_t k = 0; k < p.batch_items; ++k)
                         array += (k == 0 ? "\"" : ",\"") + lfn_of(rng() % p.mappings) + "\"";
                       array += "}";
                       auto [e, rows] = c.exec_prepared("s", {array.c_str()});
                       if (!e.empty() || rows == 0) {
                         err = e.empty() ? "no rows" : e;
                         break;
                       }
                       n += p.batch_items;
                     }
                     return n;
                   });
}

json single_inserts(uint16_t port, const params& p) {
  return rounds_of(port, p, p.clients, "INSERT INTO lrc_map (lfn, pfn) VALUES ($1, $2)", 2,
                   [&](pg_conn& c, int client, steady::time_point deadline, std::string& err) {
                     // Beyond the loaded range, distinct per client and round.
                     uint64_t next = 1'000'000'000'000ull + uint64_t(client) * 1'000'000'000ull;
                     uint64_t n = 0;
                     while (steady::now() < deadline && n < p.ops_per_round_max) {
                       auto lfn = lfn_of(next + n), pfn = pfn_of(next + n);
                       auto [e, rows] = c.exec_prepared("s", {lfn.c_str(), pfn.c_str()});
                       if (!e.empty()) {
                         err = e;
                         break;
                       }
                       ++n;
                     }
                     return n;
                   });
}

}  // namespace

json bench_postgres(const std::filesystem::path& dir, const params& p) {
  pg_cluster pg;
  if (auto err = start_pg(pg, dir); !err.empty()) return json{{"unavailable", err}};
  {
    pg_conn admin{pg.port};
    if (!admin.ok())
      return json{{"error", std::string{"cannot connect: "} + PQerrorMessage(admin.c)}};
    if (auto [err, rows] = admin.exec(schema); !err.empty())
      return json{{"error", "schema: " + err}};
  }
  json out;
  out["bulk_add"] = load(pg.port, p);
  if (out["bulk_add"].contains("error")) return out;
  {
    pg_conn admin{pg.port};
    (void)admin.exec("VACUUM ANALYZE lrc_map");
  }
  out["single_queries_per_s"] = single_queries(pg.port, p);
  out["bulk_queries_lfns_per_s"] = bulk_queries(pg.port, p);
  out["single_adds_per_s"] = single_inserts(pg.port, p);
  out["version"] = "PostgreSQL 15 (Debian), fsync and synchronous_commit on";
  return out;
}

#else

json bench_postgres(const std::filesystem::path&, const params&) {
  return json{{"unavailable", "built without libpq (libpq-dev), so PostgreSQL was not measured"}};
}

#endif

}  // namespace librarian::bench::rls
