// MCS benchmarks (see mcs_bench.hpp). The catalog side runs a real librarian-node on loopback and
// talks to it only through POST /api/v1/mcs/{verb}: the bulk add over a kept-open connection per
// loading client, the queries with one HTTP request per connection as the CLI does, and again
// over kept-open connections as a script with a session would. The
// PostgreSQL side starts a private cluster (initdb + pg_ctl in the work dir, as the `postgres` user
// when we are root), loads the same files into an attribute-value schema with the same indexes
// (attribute, value, object), and runs the same operations through libpq with one connection per
// client thread.
#include "bench/mcs/mcs_bench.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/common/keepalive_client.hpp"
#include "bench/common/node_process.hpp"
#include "bench/common/pg_cluster.hpp"
#include "bench/common/phase.hpp"
#include "bin/librarian/api_calls.hpp"

namespace librarian::bench {
namespace {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int attrs_per_file = 10;
constexpr size_t batch_files = 1000;
constexpr int load_clients = 4;
constexpr int query_clients = 16;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

double median(std::vector<double> xs) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

// The deterministic catalog: file i's 10 attributes, as the MCS and PostgreSQL both get them.
struct file_attrs {
  int64_t run, quality, band, night, size;
  std::string field, site, tag;
  double score;
  int64_t taken_days;
};

file_attrs attrs_of(uint64_t i, uint64_t files) {
  std::mt19937_64 rng{i * 0x9E3779B97F4A7C15ull + 1};
  file_attrs a;
  a.run = static_cast<int64_t>(i / 1000);
  a.quality = static_cast<int64_t>(rng() % 100);
  a.band = static_cast<int64_t>(rng() % 10);
  a.night = static_cast<int64_t>(rng() % 1000);
  a.size = static_cast<int64_t>(rng() % 1000000000);
  a.field = "field-" + std::to_string(rng() % std::max<uint64_t>(1000, files / 100));
  a.site = "site-" + std::to_string(rng() % 10);
  a.tag = "t" + std::to_string(rng());
  a.score = static_cast<double>(rng() % 100000) / 1000.0;
  a.taken_days = 19000 + static_cast<int64_t>(rng() % 365);
  return a;
}

std::string date_text(int64_t days) {
  // days since 1970 -> YYYY-MM-DD (only 2022..2023 here, so a simple walk is enough).
  int y = 1970;
  auto leap = [](int yy) { return (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0; };
  while (days >= (leap(y) ? 366 : 365)) days -= leap(y++) ? 366 : 365;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int m = 0;
  while (days >= mdays[m] + (m == 1 && leap(y) ? 1 : 0))
    days -= mdays[m] + (m == 1 && leap(y) ? 1 : 0), ++m;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m + 1, static_cast<int>(days) + 1);
  return buf;
}

json mcs_object(uint64_t i, uint64_t files) {
  auto a = attrs_of(i, files);
  auto attr = [](const char* n, const char* t, std::string v) {
    return json{{"name", n}, {"type", t}, {"value", std::move(v)}};
  };
  return json{
      {"kind", "l"},
      {"name", "bench/file-" + std::to_string(i)},
      {"attrs",
       {attr("run", "int", std::to_string(a.run)),
        attr("quality", "int", std::to_string(a.quality)),
        attr("band", "int", std::to_string(a.band)), attr("night", "int", std::to_string(a.night)),
        attr("size", "int", std::to_string(a.size)), attr("field", "string", a.field),
        attr("site", "string", a.site), attr("tag", "string", a.tag),
        attr("score", "float", std::to_string(a.score)),
        attr("taken", "date", date_text(a.taken_days))}}};
}

// The same object as JSON text, written by hand: the load generator shares the 2 cores with the
// node, and building 1,000 nlohmann trees per request took it about a core (the node's figure
// then measured the client). Names and values here are plain ASCII, nothing to escape.
void append_object_text(std::string& out, uint64_t i, uint64_t files) {
  auto a = attrs_of(i, files);
  auto attr = [&out](const char* n, const char* t, const std::string& v) {
    out += "{\"name\":\"";
    out += n;
    out += "\",\"type\":\"";
    out += t;
    out += "\",\"value\":\"";
    out += v;
    out += "\"}";
  };
  out += "{\"kind\":\"l\",\"name\":\"bench/file-";
  out += std::to_string(i);
  out += "\",\"attrs\":[";
  attr("run", "int", std::to_string(a.run));
  for (auto [n, v] : {std::pair{"quality", a.quality}, std::pair{"band", a.band},
                      std::pair{"night", a.night}, std::pair{"size", a.size}}) {
    out += ',';
    attr(n, "int", std::to_string(v));
  }
  for (auto [n, v] :
       {std::pair{"field", &a.field}, std::pair{"site", &a.site}, std::pair{"tag", &a.tag}}) {
    out += ',';
    attr(n, "string", *v);
  }
  out += ',';
  attr("score", "float", std::to_string(a.score));
  out += ',';
  attr("taken", "date", date_text(a.taken_days));
  out += "]}";
}

// The body of one bulk create of files [from, to).
std::string create_many_body(uint64_t from, uint64_t to, uint64_t files) {
  std::string out = "{\"objects\":[";
  out.reserve(to > from ? (to - from) * 420 : 16);
  for (uint64_t i = from; i < to; ++i) {
    if (i != from) out += ',';
    append_object_text(out, i, files);
  }
  return out + "]}";
}

// Runs fn(client, stop_flag) on n threads; returns the total operations and the seconds taken.
template <class Fn>
std::pair<uint64_t, double> run_clients(int n, Fn fn) {
  std::atomic<uint64_t> ops{0};
  std::vector<std::thread> threads;
  auto t0 = steady::now();
  for (int c = 0; c < n; ++c) threads.emplace_back([&, c] { ops += fn(c); });
  for (auto& t : threads) t.join();
  return {ops.load(), seconds_since(t0)};
}

// --- the catalog through the HTTP API ------------------------------------------------------------

struct mcs_node {
  pid_t pid = -1;
  cli::connection conn;
  ~mcs_node() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }
};

std::string start_node(mcs_node& node, const fs::path& dir, const std::string& bin_dir,
                       int64_t object_cache_mb, const char* log_level = "warn") {
  auto http_port = free_loopback_port();
  json cfg{{"name", "bench"},
           {"data_dir", (dir / "node").string()},
           {"log_level", log_level},
           {"listen",
            {{"host", "127.0.0.1"},
             {"cluster_port", free_loopback_port()},
             {"http_port", http_port},
             {"data_port", free_loopback_port()}}},
           {"auth",
            {{"bootstrap_admin", {{"name", "admin"}, {"password", "bench-admin-pw"}}},
             {"kdf_iterations", 1000}}},
           {"mcs", {{"enabled", true}}}};
  if (object_cache_mb >= 0) cfg["mcs"]["object_cache_mb"] = object_cache_mb;
  auto cfg_path = (dir / "node.json").string();
  std::ofstream(cfg_path) << cfg.dump(2);
  auto exe = (fs::path{bin_dir} / "librarian-node").string();
  if (::access(exe.c_str(), X_OK) != 0) return exe + " is not built";
  node.pid = spawn_logged({exe, "--config", cfg_path}, (dir / "node.log").string());
  if (node.pid < 0) return "cannot start " + exe;
  node.conn =
      cli::connection{"bench", "127.0.0.1", http_port, "admin", "bench-admin-pw", std::nullopt};
  for (int i = 0; i < 1200; ++i) {  // 60 s (a restart opens the whole catalog)
    auto r = cli::http_send("127.0.0.1", http_port, "GET", "/healthz", "", {},
                            std::chrono::milliseconds(500));
    if (r && r->status == 200) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "the node did not become ready (see " + (dir / "node.log").string() + ")";
}

// The node's /metrics text; empty if unreadable.
std::string node_metrics(const mcs_node& node) {
  auto r = cli::http_send("127.0.0.1", node.conn.port, "GET", "/metrics", "", {},
                          std::chrono::milliseconds(5000));
  return r && r->status == 200 ? r->body : std::string{};
}

expected<json> mcs_call(const cli::connection& conn, const std::string& verb, const json& body) {
  auto r =
      cli::call_api(conn, "POST", "/api/v1/mcs/" + verb, body, std::chrono::milliseconds(60000));
  if (!r) return r.err();
  return r->value;
}

// A query over a kept-open connection (HTTP/1.1 keep-alive), as a script using a session object
// would; PostgreSQL's clients keep theirs too. The reply body, or why there is none.
expected<std::string> post_query(keepalive_client& client, const std::string& body) {
  auto r = client.send("POST", "/api/v1/mcs/query", body);
  if (!r) return r.err();
  if (r->status != 200)
    return fail(errc::internal,
                "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200));
  return std::move(r->body);
}

keepalive_client admin_client(uint16_t port) {
  return keepalive_client{port, keepalive_client::basic_auth("admin", "bench-admin-pw")};
}

// One 3-condition query: quality = Q and band = B and taken between D and D+30 (each alone
// matches 1 %, 10 % and about 8 % of the files). Both sides draw the same sequence.
struct conjunction {
  uint64_t quality;
  uint64_t band;
  int64_t day;
};

conjunction next_conjunction(std::mt19937_64& rng) {
  conjunction q{};
  q.quality = rng() % 100;
  q.band = rng() % 10;
  q.day = 19000 + static_cast<int64_t>(rng() % 330);
  return q;
}

json conjunctive_body(const conjunction& q) {
  return json{{"kind", "l"},
              {"limit", 100},
              {"conditions",
               {{{"attr", "quality"}, {"op", "="}, {"value", std::to_string(q.quality)}},
                {{"attr", "band"}, {"op", "="}, {"value", std::to_string(q.band)}},
                {{"attr", "taken"},
                 {"op", "between"},
                 {"value", date_text(q.day)},
                 {"value2", date_text(q.day + 30)}}}}};
}

// Restarts the node on the loaded catalog: the time to /healthz, the first write (which the MCS
// actor answers between the steps of the object cache's fill), and the fill as the node logs it.
void restart_figures(mcs_node& node, const fs::path& dir, const std::string& bin_dir,
                     int64_t object_cache_mb, json& out) {
  print_phase("mcs", "catalog_restart");
  if (node.pid <= 0) return;
  ::kill(node.pid, SIGTERM);
  int status = 0;
  ::waitpid(node.pid, &status, 0);
  node.pid = -1;
  // The log is appended to (and may hold an earlier run's lines): read only what comes next.
  const auto log_path = dir / "node.log";
  std::error_code ec;
  const auto log_from = fs::exists(log_path, ec) ? fs::file_size(log_path, ec) : 0;
  auto t0 = steady::now();
  if (auto err = start_node(node, dir, bin_dir, object_cache_mb, "info"); !err.empty()) {
    out["restart_error"] = err;
    return;
  }
  out["restart_to_ready_s"] = seconds_since(t0);
  auto w0 = steady::now();
  auto created =
      mcs_call(node.conn, "create",
               {{"kind", "l"}, {"name", "bench/after-restart"}, {"attrs", json::array()}});
  if (!created) {
    out["restart_error"] = "first write: " + created.err().describe();
    return;
  }
  out["first_write_after_ready_ms"] = seconds_since(w0) * 1000;
  // "object cache filled: N of M objects in T ms", which may come after the first write: read
  // the log again until it does, or says the cache is off (at most 120 s).
  if (object_cache_mb == 0) return;
  for (auto l0 = steady::now(); seconds_since(l0) < 120;
       std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    std::ifstream log{log_path.string()};
    log.seekg(static_cast<std::streamoff>(ec ? 0 : log_from));
    for (std::string line; std::getline(log, line);) {
      if (line.find("object cache off: ") != std::string::npos) return;
      auto at = line.find("object cache filled: ");
      if (at == std::string::npos) continue;
      out["object_cache_fill_log"] = line.substr(at);
      auto in = line.rfind(" in ");
      if (in != std::string::npos) out["object_cache_fill_ms"] = std::atof(line.c_str() + in + 4);
      return;
    }
  }
}

json bench_catalog(const fs::path& dir, const std::string& bin_dir, uint64_t files, bool quick,
                   int64_t object_cache_mb) {
  mcs_node node;
  if (auto err = start_node(node, dir, bin_dir, object_cache_mb); !err.empty())
    return json{{"error", err}};
  json out;
  std::atomic<uint64_t> next_batch{0};
  std::mutex error_lock;
  std::string first_error;
  uint64_t batches = (files + batch_files - 1) / batch_files;
  // The hand-written bodies must say what the JSON library would.
  json expected_body{{"objects", json::array()}};
  for (uint64_t i = 0; i < std::min<uint64_t>(files, 3); ++i)
    expected_body["objects"].push_back(mcs_object(i, files));
  if (json::parse(create_many_body(0, std::min<uint64_t>(files, 3), files), nullptr, false) !=
      expected_body)
    return json{{"error", "bench bug: the bulk-create body text differs from its JSON"}};
  print_phase("mcs", "catalog_add");
  const double node_cpu0 = process_cpu_seconds(node.pid), own_cpu0 = own_cpu_seconds();
  auto [added, load_s] = run_clients(load_clients, [&](int) -> uint64_t {
    keepalive_client client{node.conn.port, keepalive_client::basic_auth("admin", "bench-admin-pw"),
                            std::chrono::seconds(60)};
    uint64_t done = 0;
    for (uint64_t b = next_batch++; b < batches; b = next_batch++) {
      uint64_t from = b * batch_files, to = std::min(files, (b + 1) * batch_files);
      auto r = client.send("POST", "/api/v1/mcs/create_many", create_many_body(from, to, files));
      // Only the count is read (the node's JSON has its keys sorted).
      if (!r || r->status != 200 ||
          !r->body.starts_with("{\"created\":" + std::to_string(to - from) + ",")) {
        std::lock_guard lock{error_lock};
        if (first_error.empty())
          first_error = r ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 300)
                          : r.err().describe();
        continue;
      }
      done += to - from;
    }
    return done;
  });
  if (added > 0) {
    out["add_node_cpu_us_per_file"] =
        (process_cpu_seconds(node.pid) - node_cpu0) * 1e6 / static_cast<double>(added);
    out["add_client_cpu_us_per_file"] =
        (own_cpu_seconds() - own_cpu0) * 1e6 / static_cast<double>(added);
  }
  if (!first_error.empty()) return json{{"error", "bulk add: " + first_error}};
  out["add_files_per_s"] = static_cast<double>(added) / load_s;
  out["files"] = added;
  print_phase("mcs", "catalog_settle");
  // Queries on a catalog at rest, not on one still rewriting its load.
  auto settled = wait_for_quiet_db([&] { return node_metrics(node); }, quick ? 60.0 : 900.0,
                                   std::chrono::milliseconds(500), 2);
  out["settle_seconds"] = settled.seconds;
  out["settled"] = settled.settled;

  const double run_s = quick ? 2.0 : 10.0;
  uint64_t fields = std::max<uint64_t>(1000, files / 100);
  auto equality_body = [&](std::mt19937_64& rng) {
    return json{
        {"kind", "l"},
        {"limit", 100},
        {"conditions",
         {{{"attr", "field"}, {"op", "="}, {"value", "field-" + std::to_string(rng() % fields)}}}}};
  };
  print_phase("mcs", "catalog_equality");
  // As the CLI does: a new connection and a Basic login per request.
  auto [queries, query_s] = run_clients(query_clients, [&](int c) -> uint64_t {
    std::mt19937_64 rng{static_cast<uint64_t>(c) + 7};
    uint64_t n = 0;
    auto t0 = steady::now();
    while (seconds_since(t0) < run_s) {
      auto r = mcs_call(node.conn, "query", equality_body(rng));
      if (r) ++n;
    }
    return n;
  });
  out["equality_queries_per_s"] = static_cast<double>(queries) / query_s;
  print_phase("mcs", "catalog_equality_keepalive");
  // As a script with a session would: one connection per client, kept open.
  std::atomic<uint64_t> keepalive_errors{0};
  auto [kept_queries, kept_s] = run_clients(query_clients, [&](int c) -> uint64_t {
    std::mt19937_64 rng{static_cast<uint64_t>(c) + 7};
    auto client = admin_client(node.conn.port);
    uint64_t n = 0;
    auto t0 = steady::now();
    while (seconds_since(t0) < run_s) {
      if (post_query(client, equality_body(rng).dump()))
        ++n;
      else
        ++keepalive_errors;
    }
    return n;
  });
  out["equality_queries_per_s_keepalive"] = static_cast<double>(kept_queries) / kept_s;
  if (keepalive_errors > 0) out["keepalive_errors"] = keepalive_errors.load();

  print_phase("mcs", "catalog_conjunction");
  const int conjunctions = quick ? 50 : 200;
  std::mt19937_64 rng{42};
  std::vector<double> latencies;
  uint64_t matched = 0;
  for (int q = 0; q < conjunctions; ++q) {
    auto body = conjunctive_body(next_conjunction(rng));
    auto t0 = steady::now();
    auto r = mcs_call(node.conn, "query", body);
    latencies.push_back(seconds_since(t0) * 1000);
    if (!r) return json{{"error", "conjunctive query: " + r.err().describe()}};
    matched += (*r)["items"].size();
  }
  out["conjunctive_p50_ms"] = median(latencies);
  out["conjunctive_mean_matches"] =
      static_cast<double>(matched) / static_cast<double>(latencies.size());
  // As many new queries on one kept-open connection: the catalog's own time plus one hop. (Not
  // the same ones again: their rows would now be in the block cache, which flatters the figure.)
  rng.seed(43);
  latencies.clear();
  auto client = admin_client(node.conn.port);
  for (int q = 0; q < conjunctions; ++q) {
    auto body = conjunctive_body(next_conjunction(rng)).dump();
    auto t0 = steady::now();
    auto r = post_query(client, body);
    latencies.push_back(seconds_since(t0) * 1000);
    if (!r) return json{{"error", "conjunctive query (keep-alive): " + r.err().describe()}};
  }
  out["conjunctive_p50_ms_keepalive"] = median(latencies);
  restart_figures(node, dir, bin_dir, object_cache_mb, out);
  return out;
}

// --- PostgreSQL
// ------------------------------------------------------------------------------------

#ifdef LIBRARIAN_BENCH_HAVE_LIBPQ

// The same catalog in an attribute-value schema: one table per value type with the MCS's index
// (attribute, value, object) and its primary key (object, attribute). Dates are days (bigint).
constexpr const char* pg_schema = R"(
CREATE TABLE objects (id bigint PRIMARY KEY, kind char(1) NOT NULL, name text NOT NULL UNIQUE);
CREATE TABLE attr_int (obj bigint NOT NULL, attr smallint NOT NULL, v bigint NOT NULL, PRIMARY KEY (obj, attr));
CREATE TABLE attr_str (obj bigint NOT NULL, attr smallint NOT NULL, v text NOT NULL, PRIMARY KEY (obj, attr));
CREATE TABLE attr_float (obj bigint NOT NULL, attr smallint NOT NULL, v double precision NOT NULL, PRIMARY KEY (obj, attr));
CREATE INDEX attr_int_v ON attr_int (attr, v, obj);
CREATE INDEX attr_str_v ON attr_str (attr, v, obj);
CREATE INDEX attr_float_v ON attr_float (attr, v, obj);
)";

std::string pg_batch_sql(PGconn* c, uint64_t from, uint64_t to, uint64_t files) {
  std::string objs, ints, strs, floats;
  for (uint64_t i = from; i < to; ++i) {
    auto a = attrs_of(i, files);
    auto id = std::to_string(i + 1);
    objs += (objs.empty() ? "" : ",") + ("(" + id + ",'l','bench/file-" + std::to_string(i) + "')");
    int64_t iv[] = {a.run, a.quality, a.band, a.night, a.size, a.taken_days};
    int attr_ids[] = {1, 2, 3, 4, 5, 10};
    for (int k = 0; k < 6; ++k)
      ints += (ints.empty() ? "" : ",") +
              ("(" + id + "," + std::to_string(attr_ids[k]) + "," + std::to_string(iv[k]) + ")");
    std::string sv[] = {a.field, a.site, a.tag};
    for (int k = 0; k < 3; ++k)
      strs += (strs.empty() ? "" : ",") +
              ("(" + id + "," + std::to_string(6 + k) + "," + pg_quoted(c, sv[k]) + ")");
    floats += (floats.empty() ? "" : ",") + ("(" + id + ",9," + std::to_string(a.score) + ")");
  }
  return "BEGIN; INSERT INTO objects VALUES " + objs + "; INSERT INTO attr_int VALUES " + ints +
         "; INSERT INTO attr_str VALUES " + strs + "; INSERT INTO attr_float VALUES " + floats +
         "; COMMIT;";
}

json bench_postgres(const fs::path& dir, uint64_t files, bool quick) {
  pg_cluster pg;
  if (auto err = start_pg(pg, dir); !err.empty()) return json{{"unavailable", err}};
  {
    pg_conn admin{pg.port};
    if (!admin.ok())
      return json{{"error", std::string{"cannot connect: "} + PQerrorMessage(admin.c)}};
    if (auto [err, rows] = admin.exec(pg_schema); !err.empty())
      return json{{"error", "schema: " + err}};
  }
  json out;
  std::atomic<uint64_t> next_batch{0};
  std::atomic<bool> failed{false};
  std::string first_error;
  std::mutex lock;
  uint64_t batches = (files + batch_files - 1) / batch_files;
  auto [added, load_s] = run_clients(load_clients, [&](int) -> uint64_t {
    pg_conn c{pg.port};
    uint64_t done = 0;
    for (uint64_t b = next_batch++; b < batches && c.ok(); b = next_batch++) {
      auto to = std::min(files, (b + 1) * batch_files);
      auto [err, rows] = c.exec(pg_batch_sql(c.c, b * batch_files, to, files));
      if (!err.empty()) {
        std::lock_guard g{lock};
        if (first_error.empty()) first_error = err;
        failed = true;
        continue;
      }
      done += to - b * batch_files;
    }
    return done;
  });
  if (failed) return json{{"error", "bulk add: " + first_error}};
  {
    auto t0 = steady::now();
    pg_conn admin{pg.port};
    (void)admin.exec("VACUUM ANALYZE");
    out["settle_seconds"] = seconds_since(t0);  // the counterpart of the node's wait_for_quiet_db()
  }
  out["add_files_per_s"] = static_cast<double>(added) / load_s;
  const double run_s = quick ? 2.0 : 10.0;
  uint64_t fields = std::max<uint64_t>(1000, files / 100);
  auto [queries, query_s] = run_clients(query_clients, [&](int client) -> uint64_t {
    pg_conn c{pg.port};
    std::mt19937_64 rng{static_cast<uint64_t>(client) + 7};
    uint64_t n = 0;
    auto t0 = steady::now();
    while (c.ok() && seconds_since(t0) < run_s) {
      auto sql =
          "SELECT o.name FROM attr_str a JOIN objects o ON o.id = a.obj WHERE a.attr = 6 AND a.v = "
          "'"
          "field-" +
          std::to_string(rng() % fields) + "' LIMIT 100";
      if (c.exec(sql).first.empty()) ++n;
    }
    return n;
  });
  out["equality_queries_per_s"] = static_cast<double>(queries) / query_s;
  pg_conn c{pg.port};
  std::mt19937_64 rng{42};
  std::vector<double> latencies;
  uint64_t matched = 0;
  for (int q = 0; q < (quick ? 50 : 200); ++q) {
    auto cq = next_conjunction(rng);
    auto quality = cq.quality;
    auto band = cq.band;
    auto d = cq.day;
    auto sql =
        "SELECT o.name FROM objects o WHERE o.id IN (SELECT obj FROM attr_int WHERE attr = 2 AND v "
        "= " +
        std::to_string(quality) +
        ") AND o.id IN (SELECT obj FROM attr_int WHERE attr = 3 AND v = " + std::to_string(band) +
        ") AND o.id IN (SELECT obj FROM attr_int WHERE attr = 10 AND v BETWEEN " +
        std::to_string(d) + " AND " + std::to_string(d + 30) + ") LIMIT 100";
    auto t0 = steady::now();
    auto [err, rows] = c.exec(sql);
    latencies.push_back(seconds_since(t0) * 1000);
    if (!err.empty()) return json{{"error", "conjunctive query: " + err}};
    matched += static_cast<uint64_t>(rows);
  }
  out["conjunctive_p50_ms"] = median(latencies);
  out["conjunctive_mean_matches"] =
      static_cast<double>(matched) / static_cast<double>(latencies.size());
  return out;
}

#else

json bench_postgres(const fs::path&, uint64_t, bool) {
  return json{{"unavailable", "built without libpq (libpq-dev), so PostgreSQL was not measured"}};
}

#endif

}  // namespace

json bench_mcs(const std::string& work_dir, const std::string& bin_dir, bool quick,
               mcs_bench_options options) {
  uint64_t files = options.files;
  if (files == 0) files = quick ? 20000 : 1000000;
  auto dir = fs::path{work_dir} / "mcs";
  std::error_code ec;
  fs::create_directories(dir, ec);
  json out{{"files_requested", files},
           {"attributes_per_file", attrs_per_file},
           {"load_clients", load_clients},
           {"query_clients", query_clients},
           {"batch_files", batch_files}};
  if (options.object_cache_mb >= 0) out["object_cache_mb"] = options.object_cache_mb;
  out["mcs"] = bench_catalog(dir, bin_dir, files, quick, options.object_cache_mb);
  if (options.skip_postgres) return out;
  out["postgres"] = bench_postgres(dir, files, quick);
  const auto& m = out["mcs"];
  const auto& p = out["postgres"];
  json ratios;
  for (const char* k : {"add_files_per_s", "equality_queries_per_s"})
    if (m.contains(k) && p.contains(k) && p[k].get<double>() > 0)
      ratios[k] = m[k].get<double>() / p[k].get<double>();
  // PostgreSQL's clients always keep their connections: the like-for-like ratio.
  if (m.contains("equality_queries_per_s_keepalive") && p.contains("equality_queries_per_s") &&
      p["equality_queries_per_s"].get<double>() > 0)
    ratios["equality_queries_per_s_keepalive"] =
        m["equality_queries_per_s_keepalive"].get<double>() /
        p["equality_queries_per_s"].get<double>();
  if (m.contains("conjunctive_p50_ms_keepalive") && p.contains("conjunctive_p50_ms") &&
      m["conjunctive_p50_ms_keepalive"].get<double>() > 0)
    ratios["conjunctive_p50_speedup_keepalive"] =
        p["conjunctive_p50_ms"].get<double>() / m["conjunctive_p50_ms_keepalive"].get<double>();
  // For latency, above 1 means the catalog is faster.
  if (m.contains("conjunctive_p50_ms") && p.contains("conjunctive_p50_ms") &&
      m["conjunctive_p50_ms"].get<double>() > 0)
    ratios["conjunctive_p50_speedup"] =
        p["conjunctive_p50_ms"].get<double>() / m["conjunctive_p50_ms"].get<double>();
  out["mcs_over_postgres"] = ratios;
  return out;
}

}  // namespace librarian::bench
