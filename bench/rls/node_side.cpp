// Node-level figures (see node_side.hpp). Every request goes to 127.0.0.1; every loop is bounded by
// a deadline and an operation count.
#include "bench/rls/node_side.hpp"

#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "bench/common/keepalive_client.hpp"
#include "bench/common/node_process.hpp"
#include "bench/common/pg_cluster.hpp"
#include "net/http/url.hpp"

namespace librarian::bench::rls {
namespace {

namespace fs = std::filesystem;

constexpr const char* admin_user = "admin";
constexpr const char* admin_password = "bench-admin-pw";
// Opening a database of tens of millions of mappings written moments ago can take minutes.
constexpr auto ready_timeout = std::chrono::seconds(900);

struct ports {
  uint16_t cluster = free_loopback_port();
  uint16_t http = free_loopback_port();
  uint16_t data = free_loopback_port();
};

struct running_node {
  std::unique_ptr<node_process> process;
  uint16_t http_port = 0;
  std::string log_path;
  double start_to_ready_s = 0;  // from the fork to the first 200 from /healthz
};

json node_config(const std::string& name, const fs::path& dir, const ports& own,
                 const std::vector<std::pair<std::string, uint16_t>>& peers, json rls,
                 const char* log_level) {
  json peer_list = json::array();
  for (const auto& [peer, port] : peers)
    peer_list.push_back({{"name", peer}, {"host", "127.0.0.1"}, {"cluster_port", port}});
  return json{{"name", name},
              {"data_dir", dir.string()},
              {"log_level", log_level},
              {"listen",
               {{"host", "127.0.0.1"},
                {"cluster_port", own.cluster},
                {"http_port", own.http},
                {"data_port", own.data}}},
              {"peers", peer_list},
              {"cluster",
               {{"heartbeat_interval_ms", 200},
                {"connection_timeout_ms", 1000},
                {"reconnect_min_ms", 50},
                {"reconnect_max_ms", 500}}},
              {"auth",
               {{"bootstrap_admin", {{"name", admin_user}, {"password", admin_password}}},
                {"kdf_iterations", 1000}}},
              {"rls", std::move(rls)}};
}

std::string auth_header() {
  return keepalive_client::basic_auth(admin_user, admin_password);
}

// Starts the node and waits until /healthz answers 200; "" or why not.
std::string start_node(running_node& node, const std::string& bin_dir, const fs::path& dir,
                       const json& cfg) {
  auto exe = (fs::path{bin_dir} / "librarian-node").string();
  if (::access(exe.c_str(), X_OK) != 0) return exe + " is not built";
  auto cfg_path = dir.string() + ".json";
  std::ofstream(cfg_path) << cfg.dump(2);
  node.log_path = dir.string() + ".log";
  node.http_port = cfg["listen"]["http_port"].get<uint16_t>();
  node.process = std::make_unique<node_process>(std::vector<std::string>{exe, "--config", cfg_path},
                                                node.log_path);
  keepalive_client http{node.http_port, auth_header(), std::chrono::milliseconds(1000)};
  auto t0 = steady::now();
  while (steady::now() - t0 < ready_timeout) {
    if (!node.process->alive()) return "the node exited (see " + node.log_path + ")";
    auto r = http.send("GET", "/healthz");
    if (r && r->status == 200) {
      node.start_to_ready_s = seconds_since(t0);
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "the node did not become ready (see " + node.log_path + ")";
}

std::string query_target(uint64_t i) {
  return "/api/v1/rls/lrc/query?lfn=" + net::http::percent_encode(lfn_of(i));
}

// "2026-11-22T04:42:51.123Z ..." -> unix ms; -1 if the line does not start with a stamp.
int64_t stamp_ms(const std::string& line) {
  std::tm parts{};
  int ms = 0;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &parts.tm_year, &parts.tm_mon,
                  &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &ms) != 7)
    return -1;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&parts)) * 1000 + ms;
}

// From the RLI's debug log: for each full update it accepted ("begin from LRC ...: 1" = pending)
// and then applied ("end from LRC ... chunks C: 0" = applied), the seconds between the two lines.
std::vector<double> applied_updates(const std::string& log_path, const std::string& lrc) {
  std::ifstream in(log_path);
  std::vector<double> out;
  int64_t begin_ms = -1;
  const std::string begin_tag = "] begin from " + lrc + " generation ";
  const std::string end_tag = "] end from " + lrc + " generation ";
  for (std::string line; std::getline(in, line);) {
    if (line.find(begin_tag) != std::string::npos && line.ends_with(": 1")) {
      begin_ms = stamp_ms(line);
    } else if (line.find(end_tag) != std::string::npos && line.ends_with(": 0") && begin_ms >= 0) {
      auto end_ms = stamp_ms(line);
      if (end_ms >= begin_ms) out.push_back(static_cast<double>(end_ms - begin_ms) / 1000.0);
      begin_ms = -1;
    }
  }
  return out;
}

}  // namespace

json full_update_end_to_end(const node_dirs& dirs, uint64_t lfns, const params& p) {
  ports pa, pb;
  json rls_a{{"update_rlis", {{{"name", "b"}, {"interval_ms", p.update_interval_ms}}}}};
  auto cfg_a = node_config("a", dirs.a, pa, {{"b", pb.cluster}}, rls_a, "warn");
  auto cfg_b = node_config("b", dirs.b, pb, {{"a", pa.cluster}}, json{{"rli", true}}, "debug");
  running_node b, a;
  if (auto err = start_node(b, dirs.bin_dir, dirs.b, cfg_b); !err.empty())
    return json{{"error", "node b: " + err}};
  if (auto err = start_node(a, dirs.bin_dir, dirs.a, cfg_a); !err.empty())
    return json{{"error", "node a: " + err}};
  // The LRC sends 100 ms after it starts, then every interval; the first may go before the
  // nodes are connected, so allow two more intervals and a minute for a slow update.
  auto deadline = steady::now() +
                  std::chrono::milliseconds(p.update_interval_ms) * (p.update_repeats + 2) +
                  std::chrono::seconds(60);
  std::vector<double> runs;
  while (steady::now() < deadline) {
    runs = applied_updates(b.log_path, "a");
    if (runs.size() >= static_cast<size_t>(p.update_repeats)) break;
    if (!a.process->alive() || !b.process->alive()) return json{{"error", "a node exited"}};
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (runs.empty()) return json{{"error", "no update was applied (see " + b.log_path + ")"}};
  runs.resize(std::min(runs.size(), static_cast<size_t>(p.update_repeats)));
  // The RLI must now answer for the LRC's LFNs through its own API.
  keepalive_client http{b.http_port, auth_header()};
  auto list = http.send("GET", "/api/v1/rls/rli/lrcs");
  if (!list || list->status != 200) return json{{"error", "GET rli/lrcs failed"}};
  auto reply = json::parse(list->body, nullptr, false);
  auto lrcs = reply.is_object() ? reply.value("lrcs", json::array()) : json::array();
  if (!lrcs.is_array() || lrcs.size() != 1 || !lrcs[0].is_object() ||
      !lrcs[0].value("lfns", json{}).is_number())
    return json{{"error", "unexpected rli/lrcs reply: " + list->body.substr(0, 200)}};
  auto held = lrcs[0]["lfns"].get<uint64_t>();
  for (uint64_t i : {uint64_t{0}, lfns / 2, lfns - 1}) {
    auto r = http.send("GET", "/api/v1/rls/rli/query?lfn=" + net::http::percent_encode(lfn_of(i)));
    if (!r || r->status != 200) return json{{"error", "the RLI does not know " + lfn_of(i)}};
  }
  return json{{"seconds", runs_and_median(runs)},
              {"lfns", lfns},
              {"rli_lfns_held", held},
              {"chunk_lfns", 1000},
              {"rli_node_rss_kib", b.process->rss_kib()},
              {"lrc_node_rss_kib", a.process->rss_kib()},
              {"measured",
               "RLI side: its log line for the update's begin to its line for the "
               "applied end (ms stamps); two nodes on loopback"}};
}

namespace {

// Latencies of one client's requests, kept for percentiles (bounded by the round's op count).
struct client_result {
  uint64_t ops = 0;
  std::vector<double> ms;
  std::string error;
};

// p.rounds rounds of `clients` keep-alive clients calling request(client, http, n) until the
// deadline or the op bound: per-round rates, latency percentiles over all rounds, and the CPU
// each side spent per request (on 2 shared cores the client's share is not free).
template <class Request>
json http_rounds(const running_node& node, const params& p, int clients, Request request) {
  std::vector<double> runs, all_ms;
  std::mutex lock;
  std::string first_error;
  double node_cpu0 = node.process->cpu_seconds(), own_cpu0 = own_cpu_seconds();
  uint64_t total_ops = 0;
  const uint16_t port = node.http_port;
  for (int r = 0; r < p.rounds; ++r) {
    runs.push_back(run_clients(clients, p.round_s, [&](int client, steady::time_point deadline) {
      keepalive_client http{port, auth_header()};
      client_result res;
      while (steady::now() < deadline && res.ops < p.ops_per_round_max) {
        auto t0 = steady::now();
        auto err = request(client + 100 * r, http, res.ops);
        if (!err.empty()) {
          res.error = err;
          break;
        }
        res.ms.push_back(seconds_since(t0) * 1000);
        ++res.ops;
      }
      std::lock_guard g{lock};
      if (first_error.empty()) first_error = res.error;
      all_ms.insert(all_ms.end(), res.ms.begin(), res.ms.end());
      total_ops += res.ops;
      return res.ops;
    }));
    if (!first_error.empty()) return json{{"error", first_error}};
  }
  auto per_op_us = [&](double cpu_s) {
    return total_ops == 0 ? 0.0 : cpu_s * 1e6 / static_cast<double>(total_ops);
  };
  return json{{"per_s", runs_and_median(runs)},
              {"p50_ms", percentile(all_ms, 0.50)},
              {"p99_ms", percentile(all_ms, 0.99)},
              {"clients", clients},
              {"node_cpu_us_per_request", per_op_us(node.process->cpu_seconds() - node_cpu0)},
              {"client_cpu_us_per_request", per_op_us(own_cpu_seconds() - own_cpu0)}};
}

std::string describe(const expected<keepalive_reply>& r, const char* what) {
  if (!r) return std::string{what} + ": " + r.err().describe();
  return std::string{what} + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200);
}

// Appends `"name":"value"` (names here are plain ASCII, nothing to escape: built by hand so the
// load generator spends its share of the 2 cores on requests, not on JSON).
void append_pair(std::string& out, const char* key, const std::string& value) {
  out += '"';
  out += key;
  out += "\":\"";
  out += value;
  out += '"';
}

// The body of one bulk create: mappings [first, first + n).
std::string bulk_create_body(uint64_t first, size_t n) {
  std::string body = "{\"mappings\":[";
  for (size_t k = 0; k < n; ++k) {
    body += k == 0 ? "{" : ",{";
    append_pair(body, "lfn", lfn_of(first + k));
    body += ',';
    append_pair(body, "pfn", pfn_of(first + k));
    body += '}';
  }
  return body + "]}";
}

// "" when a bulk reply says every item succeeded, else why not.
std::string all_succeeded(const expected<keepalive_reply>& r, size_t n, const char* what) {
  if (!r || r->status != 200) return describe(r, what);
  // Only the counts are read (the node's JSON has its keys sorted): no need to parse it all.
  const auto& body = r->body;
  if (!body.starts_with("{\"failed\":0,") ||
      !body.ends_with("\"succeeded\":" + std::to_string(n) + "}"))
    return describe(r, what);
  return {};
}

// Bulk figures through HTTP, one client as in the issue: creates of p.batch_items new mappings
// per request, and queries of p.batch_items random loaded LFNs per request.
void bulk_figures(const running_node& a, uint64_t lfns, const params& p, json& out) {
  const size_t n = p.batch_items;
  params bulk = p;
  bulk.ops_per_round_max = std::max<uint64_t>(p.ops_per_round_max / n, 1);
  phase("http_bulk_adds");
  auto adds = http_rounds(a, bulk, 1, [&](int client, keepalive_client& http, uint64_t k) {
    // New LFNs beyond the loaded ones and the single adds', distinct per round and request.
    uint64_t first = 3'000'000'000'000ull + uint64_t(client) * 1'000'000'000ull + k * n;
    auto r = http.send("POST", "/api/v1/rls/lrc/bulk/create", bulk_create_body(first, n));
    return all_succeeded(r, n, "bulk create");
  });
  keepalive_client metrics{a.http_port, auth_header()};
  const double settle_s = wait_for_quiet_db(
                              [&] {
                                auto r = metrics.send("GET", "/metrics");
                                return r && r->status == 200 ? r->body : std::string{};
                              },
                              120.0, std::chrono::milliseconds(200), 3)
                              .seconds;
  phase("http_bulk_queries");
  auto queries = http_rounds(a, bulk, 1, [&](int client, keepalive_client& http, uint64_t k) {
    std::string body = "{\"lfns\":[";
    for (size_t j = 0; j < n; ++j) {
      uint64_t i = (uint64_t(client) * 0x9E3779B97F4A7C15ull + (k * n + j) * 0xBF58476D1CE4E5B9ull);
      body += j == 0 ? "\"" : ",\"";
      body += lfn_of(i % lfns);
      body += '"';
    }
    body += "]}";
    auto r = http.send("POST", "/api/v1/rls/lrc/bulk/query", body);
    return all_succeeded(r, n, "bulk query");
  });
  auto per_item = [n](json figure) {
    if (figure.contains("per_s")) {
      json runs = json::array();
      for (const auto& x : figure["per_s"]["runs"]) runs.push_back(x.get<double>() * double(n));
      figure["items_per_s"] = runs_and_median(runs.get<std::vector<double>>());
      figure["items_per_request"] = n;
    }
    return figure;
  };
  out["bulk_adds"] = per_item(std::move(adds));
  // How long the flushes and compactions the bulk adds left behind ran before the queries.
  out["bulk_adds"]["db_settle_s"] = settle_s;
  out["bulk_queries"] = per_item(std::move(queries));
}

}  // namespace

json http_figures(const node_dirs& dirs, uint64_t lfns, bool with_adds, const params& p) {
  ports pa;
  auto cfg = node_config("a", dirs.a, pa, {}, json::object(), "warn");
  running_node a;
  if (auto err = start_node(a, dirs.bin_dir, dirs.a, cfg); !err.empty())
    return json{{"error", "node a: " + err}};
  json out{{"lfns", lfns},
           {"start_to_ready_s", a.start_to_ready_s},
           {"rss_after_start_kib", a.process->rss_kib()}};
  auto query = [&](uint64_t seed) {
    return [&, seed](int client, keepalive_client& http, uint64_t n) -> std::string {
      // The n-th LFN of this client's fixed pseudo-random sequence.
      uint64_t i = (uint64_t(client) * 0x9E3779B97F4A7C15ull + n * 0xBF58476D1CE4E5B9ull + seed);
      auto r = http.send("GET", query_target(i % lfns));
      return r && r->status == 200 ? std::string{} : describe(r, "query");
    };
  };
  // One client first: the unloaded latency.
  params one = p;
  one.rounds = 1;
  one.round_s = p.quick ? 1.0 : 20.0;
  one.ops_per_round_max = static_cast<uint64_t>(p.latency_queries);
  phase("http_single_client_queries");
  out["single_client_queries"] = http_rounds(a, one, 1, query(3));
  phase("http_single_queries");
  out["single_queries"] = http_rounds(a, p, p.clients, query(5));
  if (with_adds) {
    phase("http_single_adds");
    out["single_adds"] = http_rounds(
        a, p, p.clients, [&](int client, keepalive_client& http, uint64_t n) -> std::string {
          // New LFNs beyond the loaded ones, distinct per client and round.
          uint64_t i = 2'000'000'000'000ull + uint64_t(client) * 1'000'000'000ull + n;
          json body{{"lfn", lfn_of(i)}, {"pfn", pfn_of(i)}};
          auto r = http.send("POST", "/api/v1/rls/lrc/create", body.dump());
          return r && r->status == 201 ? std::string{} : describe(r, "create");
        });
    bulk_figures(a, lfns, p, out);
  }
  out["rss_kib"] = a.process->rss_kib();
  out["rss_peak_kib"] = a.process->rss_peak_kib();
  return out;
}

}  // namespace librarian::bench::rls
